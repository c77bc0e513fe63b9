#!/usr/bin/env python3
"""status.json with Upstate's additive keys taken out, at every level (the document itself,
each component, each incident): the keys our schema (docs/status.schema.json) has and the seed
contract's has not. What is left must validate against the contract exactly.
Usage: contract_view.py STATUS_JSON OUR_SCHEMA CONTRACT_SCHEMA OUT"""
import json
import sys


def prune(doc, ours, contract):
    if isinstance(doc, list):
        for item in doc:
            prune(item, ours.get("items", {}), contract.get("items", {}))
        return
    if not isinstance(doc, dict):
        return
    ours_props = ours.get("properties", {})
    contract_props = contract.get("properties", {})
    for key in list(doc):
        if key in ours_props and key not in contract_props:
            del doc[key]
        elif key in contract_props:
            prune(doc[key], ours_props.get(key, {}), contract_props[key])


status, ours, contract, out = sys.argv[1:5]
doc = json.load(open(status))
prune(doc, json.load(open(ours)), json.load(open(contract)))
json.dump(doc, open(out, "w"))
