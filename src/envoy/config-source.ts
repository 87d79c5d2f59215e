/** Where every dynamic resource comes from: the ADS stream, v3 API. */
export const ADS_CONFIG_SOURCE = { ads: {}, resource_api_version: 'V3' } as const;
