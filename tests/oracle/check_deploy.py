#!/usr/bin/env python3
"""Validates deploy/kubernetes/*.yaml: every document parses (PyYAML), has apiVersion, kind
and metadata.name, every volumeMount names a volume of its pod, and the DaemonSet and the
workload pod have what ras needs (hostPID, the /run/ras hostPath, rasd and ras-bridge, an
agent mounting /run/ras/container at /run/ras). Prints one line per document; exits 1 on the
first problem."""
import sys

import yaml


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def pod_spec(doc):
    if doc["kind"] == "Pod":
        return doc["spec"]
    if doc["kind"] in ("DaemonSet", "Deployment"):
        return doc["spec"]["template"]["spec"]
    return None


seen = {}
for path in sys.argv[1:]:
    with open(path) as f:
        for doc in yaml.safe_load_all(f):
            if doc is None:
                continue
            for key in ("apiVersion", "kind", "metadata"):
                if key not in doc:
                    fail(f"{path}: document without {key}")
            name = doc["metadata"].get("name") or fail(f"{path}: {doc['kind']} without a name")
            spec = pod_spec(doc)
            if spec is not None:
                volumes = {v["name"]: v for v in spec.get("volumes", [])}
                for c in spec["containers"]:
                    if not c.get("image"):
                        fail(f"{path}: container {c['name']} has no image")
                    for m in c.get("volumeMounts", []):
                        if m["name"] not in volumes:
                            fail(f"{path}: {c['name']} mounts undefined volume {m['name']}")
            seen[(doc["kind"], name)] = (doc, spec)
            print(f"{path}: {doc['kind']}/{name} ok")

ds = next((v for (k, _), v in seen.items() if k == "DaemonSet"), None) or fail("no DaemonSet")
doc, spec = ds
if not spec.get("hostPID"):
    fail("the DaemonSet must share the host pid namespace (rasd reads /proc of every container)")
names = {c["name"] for c in spec["containers"]}
if not {"rasd", "ras-bridge"} <= names:
    fail(f"the DaemonSet runs {names}, expected rasd and ras-bridge")
paths = {v.get("hostPath", {}).get("path") for v in spec["volumes"]}
if "/run/ras" not in paths:
    fail("the runtime directory /run/ras must be a hostPath")
bridge = next(c for c in spec["containers"] if c["name"] == "ras-bridge")
if bridge["securityContext"].get("capabilities", {}).get("drop") != ["ALL"] or not bridge["securityContext"].get("runAsNonRoot"):
    fail("ras-bridge must run as non-root with no capabilities")

pod = next((v for (k, _), v in seen.items() if k == "Pod"), None) or fail("no workload Pod")
_, pspec = pod
vols = {v["name"]: v for v in pspec["volumes"]}
agent = next((c for c in pspec["containers"] if "agent" in c.get("command", [])), None) or fail("no rasctl agent")
mount = next(m for m in agent["volumeMounts"] if m["mountPath"] == "/run/ras")
if vols[mount["name"]]["hostPath"]["path"] != "/run/ras/container":
    fail("the agent must mount the node's /run/ras/container at /run/ras")
print("deploy manifests ok")
