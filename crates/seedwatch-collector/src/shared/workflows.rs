//! The workflow roll-up in Redis. Per trace a hash (`wf:<trace id>`): the counters every
//! replica added (`HINCRBY`; cost in picodollars), `first` (when Redis first heard of it), and
//! the root (a top-level root replaces a nested one). `wf:due` orders traces by their last
//! contribution (Redis's own clock). Closing is a claim: the script takes the traces idle for
//! `idle_timeout` that have a root — or that waited `max_wait` without one — and deletes them
//! in the same step, so each workflow is closed, and its summary emitted, exactly once.

use serde::Serialize;
use serde_json::Value;

use super::link::{RedisLink, SharedError};

/// A trace's contribution as sent to Redis: counters as text (Redis adds them as integers;
/// cost in picodollars), the root and its resource as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowDelta {
    /// Hex trace id.
    pub trace: String,
    /// Counter name → amount.
    pub counts: Vec<(&'static str, String)>,
    /// The root, if this replica received it, as JSON.
    pub root: Option<String>,
    /// Whether that root has no parent span (preferred over a nested one).
    pub top_level: bool,
}

/// A workflow claimed from Redis: its hex trace id and the shared hash's fields.
pub type Claimed = (String, Vec<(String, String)>);

const PUSH: &str = r#"
local p = ARGV[1]
local keep = tonumber(ARGV[2])
local d = cjson.decode(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, w in ipairs(d) do
  local key = p .. 'wf:' .. w.trace
  redis.call('HSETNX', key, 'first', now)
  for _, c in ipairs(w.counts) do redis.call('HINCRBY', key, c[1], c[2]) end
  if type(w.root) == 'string' then
    local top = redis.call('HGET', key, 'top')
    if (not top) or (w.top_level and top == '0') then
      redis.call('HSET', key, 'root', w.root, 'top', w.top_level and '1' or '0')
    end
  end
  redis.call('PEXPIRE', key, keep)
  redis.call('ZADD', p .. 'wf:due', now, w.trace)
end
return #d
"#;

const CLAIM: &str = r#"
local p = ARGV[1]
local idle = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', p .. 'wf:due', '-inf', now - idle, 'LIMIT', 0, limit)
local out = {}
for _, trace in ipairs(due) do
  local key = p .. 'wf:' .. trace
  local h = redis.call('HGETALL', key)
  local root, first = false, now
  for i = 1, #h, 2 do
    if h[i] == 'root' then root = true elseif h[i] == 'first' then first = tonumber(h[i + 1]) end
  end
  if #h == 0 then
    redis.call('ZREM', p .. 'wf:due', trace)
  elseif root or now - first >= max_wait then
    redis.call('DEL', key)
    redis.call('ZREM', p .. 'wf:due', trace)
    out[#out + 1] = {trace, h}
  else
    redis.call('ZADD', p .. 'wf:due', first + max_wait - idle, trace)
  end
end
if #out == 0 then return '[]' end
return cjson.encode(out)
"#;

/// Adds this replica's contributions to their traces.
pub fn push(link: &RedisLink, deltas: &[WorkflowDelta], keep_ms: u64) -> Result<(), SharedError> {
    if deltas.is_empty() {
        return Ok(());
    }
    let payload = serde_json::to_string(deltas).unwrap_or_else(|_| "[]".into());
    let prefix = &link.config().key_prefix;
    link.call("workflows", |c| {
        redis::Script::new(PUSH).arg(prefix).arg(keep_ms.max(1)).arg(&payload).invoke::<i64>(c)
    })?;
    Ok(())
}

fn parse(answer: &str) -> Option<Vec<Claimed>> {
    let v: Value = serde_json::from_str(answer).ok()?;
    v.as_array()?
        .iter()
        .map(|w| {
            let w = w.as_array()?;
            let flat = w.get(1)?.as_array()?;
            let fields = flat
                .chunks_exact(2)
                .map(|kv| Some((kv[0].as_str()?.to_owned(), kv[1].as_str()?.to_owned())))
                .collect::<Option<Vec<_>>>()?;
            Some((w.first()?.as_str()?.to_owned(), fields))
        })
        .collect()
}

/// Claims up to `limit` workflows due for closing.
pub fn claim(link: &RedisLink, idle_ms: u64, max_wait_ms: u64, limit: usize) -> Result<Vec<Claimed>, SharedError> {
    let prefix = &link.config().key_prefix;
    let answer: String = link.call("workflow_claims", |c| {
        redis::Script::new(CLAIM).arg(prefix).arg(idle_ms).arg(max_wait_ms).arg(limit).invoke(c)
    })?;
    parse(&answer)
        .ok_or_else(|| SharedError::Answer { op: "workflow_claims", message: answer.chars().take(200).collect() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claimed_workflows_are_read_with_their_fields() {
        let answer =
            r#"[["0af7651916cd43dd8448eb211c80319c",["first","1795608000000","cost","250000000000","root","{}"]]]"#;
        let claimed = parse(answer).expect("parsed");
        assert_eq!(claimed[0].0, "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(claimed[0].1[1], ("cost".to_owned(), "250000000000".to_owned()));
        assert_eq!(parse("[]").expect("parsed"), vec![]);
        assert!(parse(r#"[["x",[1,2]]]"#).is_none());
    }
}
