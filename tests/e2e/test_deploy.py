"""The Kubernetes manifests in deploy/ are valid for the API, their embedded collector config
(TLS and credentials from the Secrets) is valid for seedwatch, their probe paths answer over
HTTPS without a credential while the rest of the admin port needs one, and the NetworkPolicy
keeps the admin port to the monitoring namespace."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import requests
import yaml

from certs import Authority
from conftest import BIN, ROOT

MANIFESTS = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
VALIDATE = shutil.which("kubernetes-validate") or str(Path(sys.executable).parent / "kubernetes-validate")


def test_manifests_pass_strict_kubernetes_validation():
    assert MANIFESTS
    out = subprocess.run([VALIDATE, "--strict", *map(str, MANIFESTS)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_kubernetes_validate_catches_a_bad_manifest(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "deploy/kubernetes/service.yaml").read_text().replace("targetPort", "targetPrt"))
    out = subprocess.run([VALIDATE, "--strict", str(bad)], capture_output=True, text=True)
    assert out.returncode != 0


def manifest(name: str) -> dict:
    return yaml.safe_load((ROOT / "deploy" / "kubernetes" / name).read_text())


def cluster_files(tmp_path: Path) -> tuple[Authority, dict]:
    """Test stand-ins for the Secrets the manifests mount: a certificate and the shipped
    credentials file; as the variables the config's paths default from."""
    ca = Authority(tmp_path / "pki")
    server = ca.server()
    credentials = tmp_path / "credentials.yaml"
    credentials.write_text(manifest("secret.yaml")["stringData"]["credentials.yaml"])
    env = {
        "SEEDWATCH_TLS_CERT_FILE": str(server.cert),
        "SEEDWATCH_TLS_KEY_FILE": str(server.key),
        "SEEDWATCH_AUTH_FILE": str(credentials),
    }
    return ca, env


def test_configmap_holds_a_valid_collector_config(tmp_path):
    config = tmp_path / "seedwatch.yaml"
    config.write_text(manifest("configmap.yaml")["data"]["seedwatch.yaml"])
    _, env = cluster_files(tmp_path)
    out = subprocess.run([str(BIN), "validate", "-c", str(config)], capture_output=True, text=True, env={**os.environ, **env})
    assert out.returncode == 0, out.stderr
    # TLS and credentials on every listener: nothing to warn about on 0.0.0.0.
    assert "warning" not in out.stdout, out.stdout


def test_probe_paths_answer_over_https_without_a_credential_and_nothing_else_does(collector, tmp_path):
    ca, env = cluster_files(tmp_path)
    cluster = yaml.safe_load(manifest("configmap.yaml")["data"]["seedwatch.yaml"])
    open_paths = cluster["admin"]["open_paths"]
    probe_client = requests.Session()
    probe_client.trust_env = False
    probe_client.verify = str(ca.cert)
    c = collector(
        f"security: {{tls: {{cert_file: '{env['SEEDWATCH_TLS_CERT_FILE']}', key_file: '{env['SEEDWATCH_TLS_KEY_FILE']}'}}, "
        f"auth: {{credentials_file: '{env['SEEDWATCH_AUTH_FILE']}'}}}}\n",
        admin_extra=f"open_paths: [{', '.join(open_paths)}]",
        session=probe_client,
    )
    container = manifest("deployment.yaml")["spec"]["template"]["spec"]["containers"][0]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        get = container[probe]["httpGet"]
        assert get["scheme"] == "HTTPS" and get["port"] == "admin", probe
        assert get["path"] in open_paths, probe
        assert probe_client.get(f"{c.admin}{get['path']}", timeout=5).status_code == 200, probe
    for closed in ("/metrics", "/health", "/api/v1/agents", "/api/v1/budgets"):
        assert probe_client.get(f"{c.admin}{closed}", timeout=5).status_code == 401, closed
    grace = manifest("deployment.yaml")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    shutdown = cluster["service"]["shutdown_timeout"]
    assert int(shutdown.rstrip("s")) < grace, "the drain deadline must end before Kubernetes kills the pod"


def test_the_network_policy_keeps_the_admin_port_to_the_monitoring_namespace():
    policy = manifest("networkpolicy.yaml")["spec"]
    deployment = manifest("deployment.yaml")
    assert policy["podSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    by_port = {p["port"]: rule["from"] for rule in policy["ingress"] for p in rule["ports"]}
    assert by_port["admin"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    assert by_port["otlp-grpc"] == by_port["otlp-http"] == [{"namespaceSelector": {}}]
    named = {p["name"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert set(by_port) <= named


def test_three_replicas_share_redis_and_survive_disruption_and_load():
    deployment = manifest("deployment.yaml")
    spec = deployment["spec"]
    selector = spec["selector"]["matchLabels"]
    pdb, hpa, redis = manifest("pdb.yaml")["spec"], manifest("hpa.yaml")["spec"], manifest("redis-secret.yaml")
    assert spec["replicas"] == 3 == hpa["minReplicas"] < hpa["maxReplicas"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment["metadata"]["name"]}
    assert pdb["selector"]["matchLabels"] == selector and pdb["minAvailable"] == 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, "a rolling upgrade never drops below three"
    env = {e["name"]: e for e in spec["template"]["spec"]["containers"][0]["env"]}
    ref = env["SEEDWATCH_REDIS_URL"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == redis["metadata"]["name"] and ref["key"] in redis["stringData"]
    assert "optional" not in ref, "a replica without the shared Redis would split every budget"
    cluster = yaml.safe_load(manifest("configmap.yaml")["data"]["seedwatch.yaml"])
    assert cluster["redis"]["url"] == "${SEEDWATCH_REDIS_URL:-}"


def test_configmap_with_the_redis_secret_is_a_valid_replica_config(tmp_path):
    config = tmp_path / "seedwatch.yaml"
    config.write_text(manifest("configmap.yaml")["data"]["seedwatch.yaml"])
    _, env = cluster_files(tmp_path)
    env["SEEDWATCH_REDIS_URL"] = manifest("redis-secret.yaml")["stringData"]["url"]
    out = subprocess.run([str(BIN), "validate", "-c", str(config)], capture_output=True, text=True, env={**os.environ, **env})
    assert out.returncode == 0, out.stderr
    env["SEEDWATCH_REDIS_URL"] = "redis.monitoring:6379"
    out = subprocess.run([str(BIN), "validate", "-c", str(config)], capture_output=True, text=True, env={**os.environ, **env})
    assert out.returncode != 0 and "redis.url" in out.stderr, out.stderr
