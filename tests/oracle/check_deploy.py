#!/usr/bin/env python3
"""Validates deploy/kubernetes/*.yaml: every document parses (PyYAML), has apiVersion, kind
and metadata.name, every volumeMount names a volume of its pod, and the DaemonSet and the
workload pod have what ras needs (hostPID, the /run/ras hostPath, rasd and ras-bridge, an
agent mounting /run/ras/container at /run/ras). ras-verifier.yaml: no namespace of its own, a
Deployment of at least two hardened replicas probed on /healthz, the database URL from a
Secret, the admin token and TLS key from Secret volumes, the trust anchor from a ConfigMap,
--replica from the pod name, a Service for it, and PostgreSQL as a StatefulSet with a volume
claim, its Service and the same Secret. Prints one line per document; exits 1 on the first
problem."""
import sys
from urllib.parse import urlsplit

import yaml


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def pod_spec(doc):
    if doc["kind"] == "Pod":
        return doc["spec"]
    if doc["kind"] in ("DaemonSet", "Deployment", "StatefulSet"):
        return doc["spec"]["template"]["spec"]
    return None


seen = {}
origin = {}
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
                # A StatefulSet's claims are volumes of its pods too.
                for t in doc["spec"].get("volumeClaimTemplates", []):
                    volumes[t["metadata"]["name"]] = {"persistentVolumeClaim": t}
                for c in spec["containers"]:
                    if not c.get("image"):
                        fail(f"{path}: container {c['name']} has no image")
                    for m in c.get("volumeMounts", []):
                        if m["name"] not in volumes:
                            fail(f"{path}: {c['name']} mounts undefined volume {m['name']}")
            seen[(doc["kind"], name)] = (doc, spec)
            origin[(doc["kind"], name)] = path
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

# --- ras-verifier.yaml
verifier_docs = {k: seen[k] for k, p in origin.items() if p.endswith("ras-verifier.yaml")}
verifier_docs or fail("no ras-verifier.yaml given")
for (kind, name), (doc, _) in verifier_docs.items():
    if kind == "Namespace" or "namespace" in doc["metadata"]:
        fail(f"ras-verifier.yaml must not name a namespace ({kind}/{name})")


def get(kind, name):
    return verifier_docs.get((kind, name)) or fail(f"ras-verifier.yaml has no {kind}/{name}")


def secret_key(env, var):
    e = next((e for e in env if e["name"] == var), None) or fail(f"no env {var}")
    ref = e.get("valueFrom", {}).get("secretKeyRef") or fail(f"{var} must come from a Secret (secretKeyRef)")
    secret, _ = get("Secret", ref["name"])
    data = secret.get("stringData", {}) | secret.get("data", {})
    ref["key"] in data or fail(f"Secret {ref['name']} has no key {ref['key']} for {var}")
    return secret, ref["key"]


def hardened(what, pod, c):
    sc, psc = c.get("securityContext", {}), pod.get("securityContext", {})
    if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
        fail(f"{what}: must run as non-root")
    if not sc.get("readOnlyRootFilesystem"):
        fail(f"{what}: the root file system must be read-only")
    if sc.get("allowPrivilegeEscalation") is not False:
        fail(f"{what}: allowPrivilegeEscalation must be false")
    if sc.get("capabilities", {}).get("drop") != ["ALL"] or sc.get("capabilities", {}).get("add"):
        fail(f"{what}: must drop all capabilities and add none")
    seccomp = sc.get("seccompProfile") or psc.get("seccompProfile") or {}
    if seccomp.get("type") != "RuntimeDefault":
        fail(f"{what}: seccomp must be RuntimeDefault")


def mounted_from(pod, c, path):
    """The volume whose mount holds `path` in container `c`."""
    vols = {v["name"]: v for v in pod["volumes"]}
    for m in c.get("volumeMounts", []):
        if path.startswith(m["mountPath"].rstrip("/") + "/"):
            return vols[m["name"]]
    fail(f"{c['name']}: nothing is mounted at {path}")


def flag(args, name):
    if name not in args or args.index(name) + 1 >= len(args):
        fail(f"ras-verifier is not given {name}")
    return args[args.index(name) + 1]


def selects(service, pod_doc):
    labels = pod_doc["spec"]["template"]["metadata"]["labels"]
    return all(labels.get(k) == v for k, v in service["spec"]["selector"].items())


dep, pod = get("Deployment", "ras-verifier")
if dep["spec"].get("replicas", 1) < 2:
    fail("the ras-verifier Deployment must run at least two replicas")
c = next((c for c in pod["containers"] if c["name"] == "ras-verifier"), None) or fail("no ras-verifier container")
hardened("ras-verifier", pod, c)
args = c.get("command", []) + c.get("args", [])
ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
for probe in ("livenessProbe", "readinessProbe"):
    get_ = c.get(probe, {}).get("httpGet") or fail(f"ras-verifier has no HTTP {probe}")
    if get_["path"] != "/healthz":
        fail(f"{probe} must ask /healthz, not {get_['path']}")
    if ports.get(get_["port"], get_["port"]) not in ports.values():
        fail(f"{probe} probes port {get_['port']}, which the container does not serve")
listen = flag(args, "--listen")
host, _, port = listen.rpartition(":")
if int(port) not in ports.values():
    fail(f"--listen {listen}: port {port} is not a containerPort")
if host not in ("127.0.0.1", "[::1]", "localhost"):
    for f in ("--tls-cert", "--tls-key"):
        flag(args, f)
    if "secret" not in mounted_from(pod, c, flag(args, "--tls-key")):
        fail("the TLS key must come from a Secret volume")
    for probe in ("livenessProbe", "readinessProbe"):
        if c[probe]["httpGet"].get("scheme") != "HTTPS":
            fail(f"{probe}: ras-verifier serves HTTPS beyond loopback")
if "secret" not in mounted_from(pod, c, flag(args, "--admin-token-file")):
    fail("the admin token must come from a Secret volume")
if "configMap" not in mounted_from(pod, c, flag(args, "--trust")):
    fail("the trust anchor must come from a ConfigMap volume")
replica = flag(args, "--replica")
var = replica[2:-1] if replica.startswith("$(") and replica.endswith(")") else fail("--replica must be $(VAR)")
e = next((e for e in c.get("env", []) if e["name"] == var), None) or fail(f"--replica names no env {var}")
if e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") != "metadata.name":
    fail(f"{var} must be the pod's name (downward API, metadata.name)")
if "--database" in args:
    fail("the database URL carries the password: RAS_VERIFIER_DATABASE from a Secret, not --database")
db_secret, db_key = secret_key(c.get("env", []), "RAS_VERIFIER_DATABASE")
svc = next((d for (k, _), (d, _) in verifier_docs.items() if k == "Service" and selects(d, dep)), None)
svc or fail("no Service selects the ras-verifier pods")

sts, pg = get("StatefulSet", "ras-verifier-postgres")
if selects(svc, sts):
    fail("the verifier's Service also selects the database")
pgc = pg["containers"][0]
if not pgc["image"].startswith("postgres:15"):
    fail(f"PostgreSQL runs {pgc['image']}, expected the official postgres:15")
hardened("postgres", pg, pgc)
claims = {t["metadata"]["name"] for t in sts["spec"].get("volumeClaimTemplates", [])}
mounts = {m["name"]: m["mountPath"] for m in pgc.get("volumeMounts", [])}
data_dir = next((m for n, m in mounts.items() if n in claims), None) or fail("no volume claim holds PostgreSQL's data")
env = {e["name"]: e for e in pgc.get("env", [])}
pgdata = env.get("PGDATA", {}).get("value", "/var/lib/postgresql/data")
if not pgdata.startswith(data_dir):
    fail(f"PGDATA {pgdata} is not on the claimed volume at {data_dir}")
pg_secret, pw_key = secret_key(pgc.get("env", []), "POSTGRES_PASSWORD")
if pg_secret is not db_secret:
    fail("the verifier's URL and PostgreSQL's password must come from one Secret")
pg_svc, _ = get("Service", sts["spec"]["serviceName"])
if not selects(pg_svc, sts):
    fail(f"Service {sts['spec']['serviceName']} does not select the PostgreSQL pod")
plain = db_secret.get("stringData", {})
if db_key in plain and pw_key in plain:
    url = urlsplit(plain[db_key])
    if url.scheme not in ("postgres", "postgresql"):
        fail(f"the database URL is not postgres://: {url.scheme}")
    if url.hostname != pg_svc["metadata"]["name"] or url.port != pg_svc["spec"]["ports"][0]["port"]:
        fail(f"the database URL names {url.hostname}:{url.port}, not the PostgreSQL Service")
    if url.password != plain[pw_key] or url.username != env.get("POSTGRES_USER", {}).get("value"):
        fail("the database URL's user and password are not PostgreSQL's")
    if url.path.lstrip("/") != env.get("POSTGRES_DB", {}).get("value"):
        fail("the database URL's database is not POSTGRES_DB")
print("ras-verifier: Deployment, Service and PostgreSQL ok")
print("deploy manifests ok")
