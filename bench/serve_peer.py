"""The peer of `mlopsctl serve` for bench/run-serve: FastAPI + Uvicorn + PyTorch.

Serves the same TorchScript model.pt with the same preprocess.json as a
training run of `mlopsctl experiment run`, the way such a model is commonly put
behind HTTP in Python:

    MODEL_PT=run/model.pt PREPROCESS_JSON=run/preprocess.json \
        uvicorn serve_peer:app --app-dir bench --host 127.0.0.1 --port 8000

POST /predict takes one JSON object of named features (or {"instances": [...]})
and answers like mlopsctl: {"prediction": {"prediction": label,
"probabilities": {label: p}}, "model": {...}} (or {"predictions": [...]}).

The encoding is src/core/data/preprocess.cpp's, step for step: numbers are
(x - mean) / std computed in double and stored as float32; bools 1/0;
categories one-hot over the sorted vocabulary (an unknown value is all zeros,
numbers and bools matched by their JSON text); a missing value takes `impute`
or is a 400. Outputs are read as probabilities (the exported model ends in
softmax) and the prediction is the first largest.
"""

import json
import os

import torch
from fastapi import FastAPI, HTTPException, Request

MODEL_PT = os.environ["MODEL_PT"]
PREPROCESS = json.load(open(os.environ["PREPROCESS_JSON"]))
MODEL = torch.jit.load(MODEL_PT)
MODEL.eval()
FEATURES = PREPROCESS["features"]
WIDTH = sum(len(f["vocabulary"]) if f["type"] == "categorical" else 1 for f in FEATURES)
CLASSIFICATION = PREPROCESS["task"] == "classification"
CLASSES = PREPROCESS.get("classes", [])
META = {"name": os.environ.get("MODEL_NAME", "bc"), "version": int(os.environ.get("MODEL_VERSION", "1"))}

app = FastAPI()


def _bool(v):
    if isinstance(v, str):
        s = v.lower()
        if s in ("true", "yes", "1"):
            return 1.0
        if s in ("false", "no", "0"):
            return 0.0
        raise ValueError(f"must be true or false, not '{v}'")
    return 1.0 if float(v) != 0 else 0.0


def encode_row(row, where):
    if not isinstance(row, dict):
        raise HTTPException(400, f"{where}: expected an object keyed by feature name")
    out = []
    for f in FEATURES:
        v = row.get(f["name"])
        if v is None:
            if f.get("impute") is None:
                raise HTTPException(400, f"{where}: feature '{f['name']}' is missing")
            v = f["impute"]
        try:
            if f["type"] == "number":
                out.append((float(v) - f["mean"]) / f["std"])
            elif f["type"] == "bool":
                out.append(_bool(v))
            else:
                text = v if isinstance(v, str) else json.dumps(v)
                vocab = f["vocabulary"]
                out.extend(1.0 if text == w else 0.0 for w in vocab)
        except (TypeError, ValueError) as e:
            raise HTTPException(400, f"{where}: feature '{f['name']}': {e}")
    return out


def decode(y):
    out = []
    for o in y.tolist():
        if not CLASSIFICATION:
            out.append({"prediction": o[0]})
            continue
        best = max(range(len(o)), key=lambda k: (o[k], -k))
        label = lambda k: CLASSES[k] if k < len(CLASSES) else str(k)
        out.append({"prediction": label(best), "probabilities": {label(k): p for k, p in enumerate(o)}})
    return out


@app.post("/predict")
async def predict(request: Request):
    try:
        doc = await request.json()
    except ValueError:
        raise HTTPException(400, "the request body is not valid JSON")
    single = isinstance(doc, dict) and "instances" not in doc
    rows = [doc] if single else (doc["instances"] if isinstance(doc, dict) else doc)
    if not isinstance(rows, list) or not rows:
        raise HTTPException(400, "send one object or {\"instances\": [...]}")
    x = torch.tensor([encode_row(r, f"row {i}") for i, r in enumerate(rows)], dtype=torch.float32)
    with torch.inference_mode():
        y = MODEL(x).to(torch.float32)
    preds = decode(y)
    return {"prediction": preds[0], "model": META} if single else {"predictions": preds, "model": META}


@app.get("/health")
async def health():
    return {"status": "ok"}
