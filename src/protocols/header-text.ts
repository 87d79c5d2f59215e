/**
 * Text written into an HTTP header value: every character that is not
 * visible ASCII or a space, and "%" itself, as the percent-encoded bytes of
 * its UTF-8 (the encoding of URIs, RFC 3986, and of RFC 8187's values). What
 * results is visible ASCII, valid in any header on any HTTP version, and
 * `decodeURIComponent` gives back the text exactly (a lone surrogate, which
 * is no text, comes back as U+FFFD). Text that is ASCII without "%" (node
 * names, most reasons) reads the same encoded.
 *
 * Node's HTTP/2 writes header values as one byte per character, so a
 * character past U+00FF (Cyrillic, CJK) would be cut to its low byte, often
 * a control byte Envoy refuses: encoding is what keeps such text readable.
 */
export function headerText(text: string): string {
  let encoded = '';
  let plainFrom = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code >= 0x20 && code <= 0x7e && code !== 0x25) continue;
    encoded += text.slice(plainFrom, index);
    // A surrogate pair is one character: encode both halves together.
    const next = text.charCodeAt(index + 1);
    const pair = code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
    for (const byte of Buffer.from(text.slice(index, index + pair), 'utf8')) {
      encoded += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
    index += pair - 1;
    plainFrom = index + 1;
  }
  return plainFrom === 0 ? text : encoded + text.slice(plainFrom);
}
