#!/usr/bin/env python3
"""Checks that the manifests here agree with one another, which no schema can: the server's DNS name, the
name it advertises, the workers' seed node, the ports, the selectors. Needs python3-yaml; no cluster.
Ends with "N passed, N failed"."""
import pathlib
import sys

import yaml

here = pathlib.Path(__file__).resolve().parent
docs = {}
for f in ("parameter-server.yaml", "workers.yaml"):
    for d in yaml.safe_load_all((here / f).read_text()):
        if d:
            docs[d["kind"]] = d
service, job, deployment = docs["Service"], docs["Job"], docs["Deployment"]
results = []


def check(what, ok):
    results.append(ok)
    print(("ok      " if ok else "FAILED  ") + what)


def container(workload):
    (c,) = workload["spec"]["template"]["spec"]["containers"]
    return c


def env(c, name):
    return next(e for e in c.get("env", []) if e["name"] == name)


def labels_match(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


js, ds = job["spec"], deployment["spec"]
pod = js["template"]["spec"]
# An Indexed Job's pod is named <job>-<index>; with a subdomain it resolves as <job>-0.<subdomain>.
server_name = f'{job["metadata"]["name"]}-0.{pod["subdomain"]}'
port = service["spec"]["ports"][0]["port"]

check("the service is headless", service["spec"].get("clusterIP") == "None")
check("the service publishes the pod before it is ready", service["spec"].get("publishNotReadyAddresses") is True)
check("the service selects the server's pod", labels_match(service["spec"]["selector"], js["template"]["metadata"]["labels"]))
check("the service does not select the workers", not labels_match(service["spec"]["selector"], ds["template"]["metadata"]["labels"]))
check("the server's pod is in the service's subdomain", pod["subdomain"] == service["metadata"]["name"])
check("the server runs once: an Indexed Job of one completion", js.get("completionMode") == "Indexed" and js.get("completions") == 1)
check("the server is not restarted", pod["restartPolicy"] == "Never" and js.get("backoffLimit") == 0)
check("the server's DNS name is dbp-parameter-server-0.dbp-parameter-server", server_name == "dbp-parameter-server-0.dbp-parameter-server")
server = container(job)
check("the server advertises its DNS name", env(server, "DBP_HOSTNAME").get("value") == server_name)
script = " ".join(server.get("args", []))
check("the server listens on the service's port", f"--port {port}" in script and server["ports"][0]["containerPort"] == port)
check("the server runs as the parameter server and trains", "--role parameter-server" in script and "-- train " in script)
check("the server waits for as many workers as there are", f'--min-workers {ds["replicas"]}' in script)
worker = container(deployment)
args = worker["args"]
check("the workers are 2", ds["replicas"] == 2)
check("the workers run as workers", args[args.index("--role") + 1] == "worker")
check("the workers' seed node is the server's address", args[args.index("--seed-nodes") + 1] == f"akka.ssl.tcp://dbp@{server_name}:{port}")
check("the workers advertise their pod IP", env(worker, "DBP_HOSTNAME").get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "status.podIP")
check("the workers listen where they say", args[args.index("--port") + 1] == str(worker["ports"][0]["containerPort"]))
check("the deployment selects its own pods", labels_match(ds["selector"]["matchLabels"], ds["template"]["metadata"]["labels"]))
kustomization = yaml.safe_load((here / "kustomization.yaml").read_text())
secret = kustomization["secretGenerator"][0]
check("the cluster's certificate is a Secret made from cluster.pfx", secret["files"] == ["cluster.pfx"])
for name, c, spec in (("server", server, pod), ("workers", worker, ds["template"]["spec"])):
    volume = next(v for v in spec["volumes"] if v["name"] == "cluster-cert")
    mount = next(m for m in c["volumeMounts"] if m["name"] == "cluster-cert")
    check(f"{name}: the certificate's Secret is mounted", volume["secret"]["secretName"] == secret["name"])
    check(f"{name}: DBP_TLS_CERT names the mounted file", env(c, "DBP_TLS_CERT")["value"] == mount["mountPath"] + "/cluster.pfx")
    check(f"{name}: the image's user can read it", spec["securityContext"].get("fsGroup") == 1654 and volume["secret"]["defaultMode"] == 0o440)
for name, c in (("server", server), ("workers", worker)):
    r = c.get("resources", {})
    check(f"{name}: cpu and memory requests and limits",
          all(k in r.get(side, {}) for side in ("requests", "limits") for k in ("cpu", "memory")))
    check(f"{name}: the local image dbp:latest, not pulled", c["image"] == "dbp:latest" and c.get("imagePullPolicy") == "IfNotPresent")

print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
sys.exit(0 if all(results) else 1)
