//! The memory limit of the cgroup (container) this process runs in, v2 or v1.

use std::path::Path;

/// Values at least this large mean "no limit" (cgroup v1 writes about 2^63 rounded to pages).
const UNLIMITED: u64 = 1 << 60;

fn read_limit(file: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let value: u64 = text.trim().parse().ok()?;
    (value < UNLIMITED).then_some(value)
}

/// The memory limit that applies to this process, if its cgroup has one.
pub fn memory_limit() -> Option<u64> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    memory_limit_from(&cgroups, Path::new("/sys/fs/cgroup"))
}

/// [`memory_limit`] from the text of `/proc/self/cgroup` and the cgroup file system root.
fn memory_limit_from(cgroups: &str, root: &Path) -> Option<u64> {
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let path = path.trim_start_matches('/');
        if controllers.is_empty() {
            // v2: the process's own group, else the mount root (inside a cgroup namespace).
            let own = root.join(path).join("memory.max");
            if let Some(limit) = read_limit(&own).or_else(|| read_limit(&root.join("memory.max"))) {
                return Some(limit);
            }
        } else if controllers.split(',').any(|c| c == "memory") {
            let base = root.join("memory");
            let own = base.join(path).join("memory.limit_in_bytes");
            if let Some(limit) = read_limit(&own).or_else(|| read_limit(&base.join("memory.limit_in_bytes"))) {
                return Some(limit);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_v2_and_v1_limits_and_ignores_unlimited() {
        let root = tempfile::tempdir().expect("tempdir");
        let group = root.path().join("kubepods/pod1");
        std::fs::create_dir_all(&group).expect("dir");
        std::fs::write(group.join("memory.max"), "1073741824\n").expect("write");
        assert_eq!(memory_limit_from("0::/kubepods/pod1\n", root.path()), Some(1 << 30));
        std::fs::write(group.join("memory.max"), "max\n").expect("write");
        assert_eq!(memory_limit_from("0::/kubepods/pod1\n", root.path()), None);

        let v1 = root.path().join("memory/docker/abc");
        std::fs::create_dir_all(&v1).expect("dir");
        std::fs::write(v1.join("memory.limit_in_bytes"), "536870912\n").expect("write");
        assert_eq!(memory_limit_from("4:memory:/docker/abc\n3:cpu:/docker/abc\n", root.path()), Some(512 << 20));
        std::fs::write(v1.join("memory.limit_in_bytes"), "9223372036854771712\n").expect("write");
        assert_eq!(memory_limit_from("4:memory:/docker/abc\n", root.path()), None);
        assert_eq!(memory_limit_from("garbage", root.path()), None);
    }
}
