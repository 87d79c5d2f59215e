import { EXECUTOR_NAMESPACE, HANDOFF_FROM_CLIENT_KEY } from '../plan/execution.ts';
import { typed } from './type-urls.ts';

/**
 * A node's 400, 413, 415 or 422 is the client's error only when the node was
 * sent the client's own payload; sent another node's answer, it is the
 * graph's failure, 502, as the executor answers it. A model a request is
 * handed off to answers through Envoy, not the executor: on those routes
 * this Lua script turns such a refusal into the executor's 502, in the
 * error shape, with the same reason (the start of the node's answer). It
 * reads only the answers it rewrites; every other answer streams through.
 * The executor says, in the hand-off's metadata, whose payload the model got.
 */
export const LUA_FILTER = 'envoy.filters.http.lua';
const SCRIPT = 'node-refusals';

const source = `
local refusals = { ["400"] = true, ["413"] = true, ["415"] = true, ["422"] = true }

local function quoted(text)
  return '"' .. text:gsub('[%c"\\\\]', function(c)
    return string.format("\\\\u%04x", c:byte())
  end) .. '"'
end

function envoy_on_response(handle)
  local status = handle:headers():get(":status")
  if not refusals[status] then return end
  local decided = handle:streamInfo():dynamicMetadata():get("${EXECUTOR_NAMESPACE}")
  if decided == nil or decided["${HANDOFF_FROM_CLIENT_KEY}"] ~= "false" then return end
  local graph, node = string.match(decided["handoff"] or "", "^(.*)/([^/]*)$")
  handle:headers():replace(":status", "502")
  handle:headers():replace("content-type", "application/json")
  handle:headers():remove("content-length")
  local body = handle:body()
  local excerpt = ""
  if body ~= nil then
    local length = body:length()
    excerpt = body:getBytes(0, math.min(length, 200))
    if length > 200 then excerpt = excerpt:gsub("[\\192-\\255][\\128-\\191]*$", "") .. "…" end
  end
  excerpt = excerpt:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
  local answer = '{"error":{"graph":' .. quoted(graph or "") .. ',"node":' .. quoted(node or "")
    .. ',"status":502,"reason":' .. quoted("the node answered " .. status .. ": " .. excerpt) .. '}}'
  if body ~= nil then body:setBytes(answer) end
end
`;

/** The listener's Lua filter, off unless a route turns it on, holding the script. */
export function nodeRefusalsFilter() {
  return {
    name: LUA_FILTER,
    disabled: true,
    typed_config: {
      '@type': typed('envoy.extensions.filters.http.lua.v3.Lua'),
      source_codes: { [SCRIPT]: { inline_string: source } },
    },
  };
}

/**
 * Turns the script on for a route: for the routes of ext_proc (Envoy decides
 * which filters run when it first picks a route) and their hand-offs.
 */
export function nodeRefusalsRouteConfig() {
  return {
    [LUA_FILTER]: {
      '@type': typed('envoy.config.route.v3.FilterConfig'),
      config: { '@type': typed('envoy.extensions.filters.http.lua.v3.LuaPerRoute'), name: SCRIPT },
    },
  };
}
