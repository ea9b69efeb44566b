#!/usr/bin/env python3
"""Seeds each fuzz target's corpus with the realistic inputs the repository already has: the API
Gateway / SQS sample events (events/) and VTEX's example bodies (the protocol examples folder, when
present). Inputs are written in each target's format (see the target's doc comment). Idempotent:
a seed is named by its content's hash.

    seed.py EVENTS_DIR EXAMPLES_DIR CORPUS_DIR
"""
import hashlib
import json
import pathlib
import sys

events = pathlib.Path(sys.argv[1])
examples = pathlib.Path(sys.argv[2])
corpus = pathlib.Path(sys.argv[3])


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / ("seed-" + hashlib.sha1(data).hexdigest()[:16])).write_bytes(data)


def event_bodies(pattern):
    out = []
    for p in sorted(events.glob(pattern)):
        e = json.loads(p.read_text())
        if isinstance(e, list):  # a file of messages (e.g. order-import.file.json)
            out += [json.dumps(m) for m in e]
        elif "Records" in e:
            out += [r["body"] for r in e["Records"]]
        elif e.get("body"):
            out.append(e["body"])
    return out


def example(name):
    p = examples / name
    return p.read_text() if p.exists() else None


def examples_of(*names):
    return [t for t in (example(n) for n in names) if t is not None]


# Simulation POST: the body.
sim_bodies = event_bodies("simulation.post-*.json") + examples_of(
    "simulation-checkout.request.json", "simulation-indexation.request.json")
for b in sim_bodies:
    put("simulation_post", b)

# Simulation GET: mode byte, then sc \n an \n purchaseContext.
contexts = list(sim_bodies)
for p in sorted(events.glob("simulation.get-*.json")):
    q = json.loads(p.read_text()).get("queryStringParameters") or {}
    if q.get("purchaseContext"):
        contexts.append(q["purchaseContext"])
contexts += examples_of("simulation-get.purchaseContext.json")
for c in contexts:
    put("simulation_get", b"\x00" + b"1\nacct\n" + c.encode())
    put("simulation_get", b"\x01" + b"\n\n" + c.encode())

# Placement: query byte, then the body.
placements = event_bodies("order-placement.*.json") + examples_of("order-placement.request.json")
for b in placements:
    for mode in (0, 1):
        put("placement", bytes([mode]) + b.encode())

# Fulfill and cancel: mode byte (path id x prior state), then the body.
fulfills = event_bodies("fulfillment.fulfill*.json") + examples_of("fulfill.request.json")
cancels = event_bodies("fulfillment.cancel*.json") + examples_of("mkp-cancel.request.json") + [""]
for mode in (0, 1, 2, 4, 8):
    for b in fulfills:
        put("fulfill", bytes([mode]) + b.encode())
    for b in cancels:
        put("cancel", bytes([mode]) + b.encode())

# Inbound auth: path segment \n ?secret= \n Authorization \n AppKey \n AppToken.
for lines in (
    ["s3cr3t-path", "", "", "", ""],
    ["x", "s3cr3t-path", "", "", ""],
    ["x", "", 'VTEX key="vtexappkey-fuzz" token="TOKEN-fuzz"', "", ""],
    ["x", "", "VTEX key=vtexappkey-fuzz,token=TOKEN-fuzz", "", ""],
    ["x", "", "", "vtexappkey-fuzz", "TOKEN-fuzz"],
    ["x", "", "Bearer TOKEN-fuzz", "vtexappkey-fuzz", ""],
    ["", "", "", "", ""],
):
    put("inbound_auth", "\n".join(lines))

# ERP order messages: the dispatch events, and the OMS example bodies wrapped as messages.
for b in event_bodies("dispatch.*.json"):
    put("erp_order_message", b)
wrap = {
    "invoice-output.request.json": lambda v: {"type": "invoice", "invoice": v},
    "invoice-input-return.request.json": lambda v: {"type": "invoice", "invoice": v},
    "tracking-patch.request.json": lambda v: {"type": "tracking", "invoiceNumber": "NFe-1", "tracking": v},
    "tracking-status.request.json": lambda v: {"type": "trackingStatus", "invoiceNumber": "NFe-1", "trackingStatus": v},
    "tracking-status-delivered.request.json": lambda v: {"type": "trackingStatus", "invoiceNumber": "NFe-1", "trackingStatus": v},
    "seller-cancel.request.json": lambda v: {"type": "cancel", "cancel": v},
}
for name, f in wrap.items():
    text = example(name)
    if text is None:
        continue
    for ref in ({"orderId": "SLR-1"}, {"marketplaceOrderId": "959311095", "an": "acct"}):
        put("erp_order_message", json.dumps({**f(json.loads(text)), "version": 1, **ref}))

# ERP catalog messages: each sample SKU as an upsert, price and stock changes, the whole file.
catalog_file = events.parent / "shared" / "sample" / "catalog.json"
if catalog_file.exists():
    catalog = json.loads(catalog_file.read_text())
    put("erp_catalog_message", json.dumps(catalog))
    for sku in catalog.get("skus", [])[:12]:
        put("erp_catalog_message", json.dumps({"type": "sku.upsert", "version": 1, "messageId": "m-1", "sku": sku}))
        if sku.get("prices"):
            put("erp_catalog_message", json.dumps(
                {"type": "price.changed", "version": 1, "skuId": sku["id"], "prices": sku["prices"]}))
        for loc, level in (sku.get("stock") or {}).items():
            put("erp_catalog_message", json.dumps(
                {"type": "stock.changed", "version": 1, "skuId": sku["id"], "location": loc, "onHand": level.get("onHand", 0)}))
            break
for p in sorted(events.glob("catalog*.json")):
    for b in event_bodies(p.name):
        put("erp_catalog_message", b)

# Marketplace-services invoice notifications: mode byte (odd: sent twice), then the body.
mse = event_bodies("mse.*.json") + examples_of("invoice-output.request.json", "invoice-input-return.request.json")
for b in mse:
    for mode in (0, 1):
        put("mse_invoice", bytes([mode]) + b.encode())

# ERP import messages (the order-import queue).
for b in event_bodies("order-import.*.json"):
    put("erp_import_message", b)

# Inputs that once failed (committed under regressions/<target>/): always in the corpus.
regressions = pathlib.Path(__file__).resolve().parent / "regressions"
for d in sorted(regressions.glob("*")):
    for f in sorted(d.iterdir()):
        put(d.name, f.read_bytes())
