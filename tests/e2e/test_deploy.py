"""The Kubernetes manifests in deploy/ are valid for the API, their embedded collector config
is valid for seedwatch, and their probe paths answer on a running collector."""

import shutil
import subprocess
import sys
from pathlib import Path

import requests
import yaml

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


def test_configmap_holds_a_valid_collector_config(tmp_path):
    cm = yaml.safe_load((ROOT / "deploy/kubernetes/configmap.yaml").read_text())
    config = tmp_path / "seedwatch.yaml"
    config.write_text(cm["data"]["seedwatch.yaml"])
    out = subprocess.run([str(BIN), "validate", "-c", str(config)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_probe_paths_answer_on_a_running_collector(collector):
    c = collector()
    deployment = yaml.safe_load((ROOT / "deploy/kubernetes/deployment.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    probes = [container[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe", "startupProbe")]
    assert probes == ["/health/live", "/health/ready", "/health"]
    for path in probes:
        assert requests.get(f"{c.admin}{path}", timeout=5).status_code == 200, path
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    cm = yaml.safe_load((ROOT / "deploy/kubernetes/configmap.yaml").read_text())
    shutdown = yaml.safe_load(cm["data"]["seedwatch.yaml"])["service"]["shutdown_timeout"]
    assert int(shutdown.rstrip("s")) < grace, "the drain deadline must end before Kubernetes kills the pod"
