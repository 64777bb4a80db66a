"""A stand-in Kubernetes API server for tests (no real one can run here).

It speaks the few endpoints lanner's list+watch uses, for pods, namespaces and replicasets:
``GET <collection>`` lists with a resourceVersion; ``?watch=true&resourceVersion=N``
streams the changes after N as JSON lines (chunked) until ``timeoutSeconds``;
``fieldSelector=spec.nodeName=X`` filters pods. Tests change objects with `put` / `delete`,
which watchers see at once.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

COLLECTIONS = {
    "/api/v1/pods": ("pods", "PodList", "v1"),
    "/api/v1/namespaces": ("namespaces", "NamespaceList", "v1"),
    "/apis/apps/v1/replicasets": ("replicasets", "ReplicaSetList", "apps/v1"),
}


class StandInApiServer:
    def __init__(self) -> None:
        self.objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {
            "pods": {},
            "namespaces": {},
            "replicasets": {},
        }
        self.log: list[tuple[int, str, str, dict[str, Any]]] = []  # (rv, resource, type, obj)
        self.version = 100
        self.changed = threading.Condition()
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            # Watches stream in chunks, as a real API server's do.
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> StandInApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # ---- objects -----------------------------------------------------------------------------

    def put(self, resource: str, obj: dict[str, Any]) -> None:
        with self.changed:
            self.version += 1
            meta = obj.setdefault("metadata", {})
            meta.setdefault("uid", str(uuid.uuid4()))
            meta["resourceVersion"] = str(self.version)
            key = (meta.get("namespace", ""), meta["name"])
            kind = "MODIFIED" if key in self.objects[resource] else "ADDED"
            self.objects[resource][key] = obj
            self.log.append((self.version, resource, kind, json.loads(json.dumps(obj))))
            self.changed.notify_all()

    def delete(self, resource: str, namespace: str, name: str) -> None:
        with self.changed:
            self.version += 1
            obj = self.objects[resource].pop((namespace, name))
            obj["metadata"]["resourceVersion"] = str(self.version)
            self.log.append((self.version, resource, "DELETED", obj))
            self.changed.notify_all()

    # ---- HTTP ------------------------------------------------------------------------------

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        url = urlparse(request.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        self.requests.append(request.path)
        found = COLLECTIONS.get(url.path)
        if found is None:
            self._reply(request, 404, {"kind": "Status", "code": 404, "message": "not found"})
            return
        resource, list_kind, api_version = found
        node = None
        selector = query.get("fieldSelector", "")
        if selector.startswith("spec.nodeName="):
            node = selector.partition("=")[2]

        def visible(obj: dict[str, Any]) -> bool:
            return node is None or obj.get("spec", {}).get("nodeName") == node

        if query.get("watch") not in ("true", "1"):
            with self.changed:
                items = [o for o in self.objects[resource].values() if visible(o)]
                body = {
                    "kind": list_kind,
                    "apiVersion": api_version,
                    "metadata": {"resourceVersion": str(self.version)},
                    "items": items,
                }
            self._reply(request, 200, body)
            return
        since = int(query.get("resourceVersion") or 0)
        deadline = time.monotonic() + float(query.get("timeoutSeconds") or 30)
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        try:
            while time.monotonic() < deadline:
                with self.changed:
                    news = [e for e in self.log if e[0] > since and e[1] == resource]
                    if not news:
                        self.changed.wait(min(0.2, max(0.0, deadline - time.monotonic())))
                        continue
                for version, _res, kind, obj in news:
                    since = version
                    if visible(obj):
                        line = (json.dumps({"type": kind, "object": obj}) + "\n").encode()
                        request.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                request.wfile.flush()
            request.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        request.send_response(code)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
