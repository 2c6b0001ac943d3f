//! Agent health in Redis. Per instance a hash (`agent:<service>\x1f<instance>`): last seen
//! (the latest any replica saw), memory, CPU, its checks, and activity counts per window
//! bucket (`b:<bucket>:<0..3>`, added with `HINCRBY`, older buckets pruned). Every push bumps
//! a sequence number and records the instance in `agents:changed` under it, so a replica
//! reads back only the instances changed since its last sync. The lease holder's verdicts
//! live in `agents:states`, versioned by `agents:statever`.

use std::collections::HashMap;

use serde_json::Value;

use super::link::{RedisLink, SharedError};
use crate::agents::{AgentDelta, HealthState, SharedAgent, SharedAgentState};

const SYNC: &str = r#"
local p = ARGV[1]
local last = tonumber(ARGV[2])
local oldest = tonumber(ARGV[3])
local keep = tonumber(ARGV[4])
local statever = tonumber(ARGV[5])
local d = cjson.decode(ARGV[6])
for _, a in ipairs(d) do
  local id = a.service .. '\31' .. a.instance
  local key = p .. 'agent:' .. id
  local seen = tonumber(redis.call('HGET', key, 'seen') or '0')
  if a.seen > seen then
    seen = a.seen
    redis.call('HSET', key, 'seen', string.format('%.3f', a.seen))
  end
  redis.call('HSET', key, 'service', a.service, 'instance', a.instance)
  if type(a.memory) == 'number' then redis.call('HSET', key, 'memory', string.format('%.17g', a.memory)) end
  if type(a.cpu) == 'number' then redis.call('HSET', key, 'cpu', string.format('%.17g', a.cpu)) end
  for _, c in ipairs(a.checks) do redis.call('HSET', key, 'c:' .. c[1], c[2]) end
  for _, b in ipairs(a.buckets) do
    for k = 1, 4 do
      if b[2][k] > 0 then redis.call('HINCRBY', key, 'b:' .. string.format('%d', b[1]) .. ':' .. (k - 1), b[2][k]) end
    end
  end
  for _, f in ipairs(redis.call('HKEYS', key)) do
    local bucket = string.match(f, '^b:(%d+):')
    if bucket and tonumber(bucket) < oldest then redis.call('HDEL', key, f) end
  end
  redis.call('EXPIRE', key, keep)
  local seq = redis.call('INCR', p .. 'agents:seq')
  redis.call('ZADD', p .. 'agents:changed', seq, id)
end
local changed = redis.call('ZRANGEBYSCORE', p .. 'agents:changed', '(' .. string.format('%d', last), '+inf', 'WITHSCORES')
local agents = {}
local top = last
for i = 1, #changed, 2 do
  local h = redis.call('HGETALL', p .. 'agent:' .. changed[i])
  if #h > 0 then agents[#agents + 1] = h end
  local s = tonumber(changed[i + 1])
  if s > top then top = s end
end
local ver = tonumber(redis.call('GET', p .. 'agents:statever') or '0')
local states = false
if ver ~= statever then states = redis.call('HVALS', p .. 'agents:states') end
return cjson.encode({top, ver, agents, states})
"#;

const STATES: &str = r#"
local p = ARGV[1]
local d = cjson.decode(ARGV[2])
for _, s in ipairs(d.states) do
  redis.call('HSET', p .. 'agents:states', s[1] .. '\31' .. s[2], s[3])
end
for _, e in ipairs(d.expired) do
  local id = e[1] .. '\31' .. e[2]
  redis.call('HDEL', p .. 'agents:states', id)
  redis.call('DEL', p .. 'agent:' .. id)
  redis.call('ZREM', p .. 'agents:changed', id)
end
return redis.call('INCR', p .. 'agents:statever')
"#;

/// What one sync brought back.
#[derive(Debug, Default)]
pub struct AgentsSynced {
    /// The newest change this replica has now seen.
    pub seq: i64,
    /// The verdicts' version.
    pub statever: i64,
    /// Instances changed since the last sync, every replica's observations merged.
    pub agents: Vec<SharedAgent>,
    /// The lease holder's verdicts, when they changed since the last sync.
    pub states: Option<Vec<SharedAgentState>>,
}

fn state_of(code: &str) -> Option<HealthState> {
    HealthState::ALL.into_iter().find(|s| s.as_str() == code)
}

/// One instance from its hash's fields (`HGETALL` as a flat list).
fn agent_from(flat: &[Value]) -> Option<SharedAgent> {
    let mut fields: HashMap<&str, &str> = HashMap::new();
    for pair in flat.chunks_exact(2) {
        fields.insert(pair[0].as_str()?, pair[1].as_str()?);
    }
    let num = |k: &str| fields.get(k).and_then(|v| v.parse::<f64>().ok());
    let mut buckets: std::collections::BTreeMap<u64, [u32; 4]> = Default::default();
    let mut checks = Vec::new();
    for (k, v) in &fields {
        if let Some(rest) = k.strip_prefix("b:") {
            let (bucket, kind) = rest.split_once(':')?;
            let (bucket, kind) = (bucket.parse::<u64>().ok()?, kind.parse::<usize>().ok()?);
            if kind < 4 {
                buckets.entry(bucket).or_default()[kind] = v.parse::<u32>().unwrap_or(u32::MAX);
            }
        } else if let Some(check) = k.strip_prefix("c:") {
            checks.push((check.to_owned(), state_of(v)?));
        }
    }
    checks.sort();
    Some(AgentDelta {
        service: (*fields.get("service")?).to_owned(),
        instance: (*fields.get("instance")?).to_owned(),
        seen: num("seen").unwrap_or(0.0),
        memory: num("memory"),
        cpu: num("cpu"),
        checks,
        buckets: buckets.into_iter().collect(),
    })
}

/// The items of a list in a script's answer: Lua's cjson writes an empty list as `{}`, so
/// anything but an array is empty.
fn list(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

fn parse(answer: &str) -> Option<AgentsSynced> {
    let v: Value = serde_json::from_str(answer).ok()?;
    let parts = v.as_array()?;
    let agents = list(parts.get(2)?).iter().filter_map(|a| agent_from(a.as_array()?)).collect();
    let states = match parts.get(3)? {
        Value::Bool(false) => None,
        v => Some(list(v).iter().filter_map(|s| serde_json::from_str(s.as_str()?).ok()).collect()),
    };
    Some(AgentsSynced { seq: parts.first()?.as_i64()?, statever: parts.get(1)?.as_i64()?, agents, states })
}

/// Pushes this replica's deltas and reads back what changed since `seq` (and the verdicts,
/// when their version is not `statever`); activity buckets before `oldest` are pruned.
pub fn sync(
    link: &RedisLink,
    deltas: &[AgentDelta],
    seq: i64,
    statever: i64,
    oldest: u64,
    keep_secs: u64,
) -> Result<AgentsSynced, SharedError> {
    let payload = serde_json::to_string(deltas).unwrap_or_else(|_| "[]".into());
    let prefix = &link.config().key_prefix;
    let answer: String = link.call("agents", |c| {
        redis::Script::new(SYNC)
            .arg(prefix)
            .arg(seq)
            .arg(oldest)
            .arg(keep_secs.max(1))
            .arg(statever)
            .arg(&payload)
            .invoke(c)
    })?;
    parse(&answer).ok_or_else(|| SharedError::Answer { op: "agents", message: answer.chars().take(200).collect() })
}

/// The lease holder writes its verdicts and removes instances it forgot.
pub fn publish_states(
    link: &RedisLink,
    states: &[SharedAgentState],
    expired: &[(String, String)],
) -> Result<i64, SharedError> {
    if states.is_empty() && expired.is_empty() {
        return Ok(-1);
    }
    let states: Vec<(&str, &str, String)> = states
        .iter()
        .map(|s| (s.service.as_str(), s.instance.as_str(), serde_json::to_string(s).unwrap_or_default()))
        .collect();
    let payload = serde_json::json!({ "states": states, "expired": expired }).to_string();
    let prefix = &link.config().key_prefix;
    link.call("agent_states", |c| redis::Script::new(STATES).arg(prefix).arg(&payload).invoke(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_answer_is_read_into_agents_and_verdicts() {
        let answer = r#"[7, 3, [["service","svc","instance","i-1","seen","1795608000.250","memory","1024","b:100:0","4","b:100:1","1","b:101:2","2","c:db","degraded"]],
            ["{\"service\":\"svc\",\"instance\":\"i-1\",\"state\":\"degraded\",\"since\":1795608000.0,\"reasons\":[\"db\"]}"]]"#;
        let synced = parse(answer).expect("parsed");
        assert_eq!((synced.seq, synced.statever), (7, 3));
        let a = &synced.agents[0];
        assert_eq!(
            (a.service.as_str(), a.instance.as_str(), a.seen, a.memory, a.cpu),
            ("svc", "i-1", 1_795_608_000.25, Some(1024.0), None)
        );
        assert_eq!(a.buckets, vec![(100, [4, 1, 0, 0]), (101, [0, 0, 2, 0])]);
        assert_eq!(a.checks, vec![("db".to_owned(), HealthState::Degraded)]);
        let states = synced.states.expect("verdicts");
        assert_eq!(states[0].state, HealthState::Degraded);
        // Lua's cjson writes an empty list as an object, and "no verdicts" as false.
        let quiet = parse("[7, 3, {}, false]").expect("parsed");
        assert!(quiet.agents.is_empty() && quiet.states.is_none());
    }
}
