"""Forwards port 8080 of pod argv[1] (namespace default) with the
kubernetes client's WebSocket port forwarding, sends an HTTP request for
/marker through it and prints the answer, then PORT-FORWARD-OK if it came
from the pod."""
import sys

from kubernetes import client, config
from kubernetes.stream import portforward

config.load_kube_config()
api = client.CoreV1Api()
forward = portforward(api.connect_get_namespaced_pod_portforward, sys.argv[1], "default", ports="8080")
sock = forward.socket(8080)
sock.setblocking(True)
sock.sendall(b"GET /marker HTTP/1.0\r\nHost: pod\r\n\r\n")
answer = b""
while True:
    chunk = sock.recv(4096)
    if not chunk:
        break
    answer += chunk
sock.close()
print(answer.decode(errors="replace"))
error = forward.error(8080)
if error:
    print("error channel:", error)
if b"served by a real container" in answer:
    print("PORT-FORWARD-OK")
