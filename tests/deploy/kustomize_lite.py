"""A small kustomize, enough for deploy/k8s, for machines without ``kubectl kustomize``.

It renders what our kustomizations use and refuses anything else (an unknown field is an
error, not a silent skip): ``resources`` (files and kustomization folders), ``namespace``,
``labels`` (metadata only), ``images``, ``configMapGenerator`` and ``secretGenerator`` (``envs``,
``literals``; ``behavior`` create, merge or replace) with a content hash in the name and every
pod's reference to it renamed, and ``patches``: strategic merge (objects merged, lists of named
items merged by name, other lists replaced) or RFC 6902 (add, replace, remove). The hash is its
own, not kustomize's: tests compare the two renderings without it (``comparable``).
"""

import base64
import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]

KNOWN_FIELDS = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "labels",
    "images",
    "configMapGenerator",
    "secretGenerator",
    "patches",
}
CLUSTER_SCOPED = {"Namespace", "PersistentVolume", "StorageClass", "ClusterRole"}
HASH_SUFFIX = re.compile(r"-[a-z0-9]{10}$")


class Unsupported(ValueError):
    pass


def render(folder: Path) -> list[Obj]:
    objects, generated = _build(folder)
    # Last, so that a reference names what an overlay's generator made of the base's object.
    _rename_references(objects, generated)
    return objects


def _build(folder: Path) -> tuple[list[Obj], dict[tuple[str, str], Obj]]:
    """The folder's objects, and its generated ones by (kind, name before hashing)."""
    spec: Obj = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unknown = set(spec) - KNOWN_FIELDS
    if unknown:
        raise Unsupported(f"{folder}: kustomize_lite doesn't handle {sorted(unknown)}")
    objects: list[Obj] = []
    generated: dict[tuple[str, str], Obj] = {}
    for entry in spec.get("resources", []):
        path = folder / entry
        if path.is_dir():
            child_objects, child_generated = _build(path)
            objects.extend(child_objects)
            generated.update(child_generated)
        else:
            objects.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    for kind, field in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
        for generator in spec.get(field, []):
            _generate(folder, kind, generator, objects, generated)
    for patch in spec.get("patches", []):
        _patch(folder, patch, objects)
    for image in spec.get("images", []):
        _set_image(objects, image)
    for group in spec.get("labels", []):
        if set(group) - {"pairs"}:
            raise Unsupported(f"labels options {sorted(set(group) - {'pairs'})}")
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(group["pairs"])
    if "namespace" in spec:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = spec["namespace"]
    return objects, generated


def _generate(
    folder: Path, kind: str, generator: Obj, objects: list[Obj], generated: dict[Any, Obj]
) -> None:
    if set(generator) - {"name", "behavior", "envs", "literals"}:
        raise Unsupported(f"generator options {sorted(generator)}")
    data: dict[str, str] = {}
    for env_file in generator.get("envs", []):
        data.update(env_pairs((folder / env_file).read_text()))
    data.update(env_pairs("\n".join(generator.get("literals", []))))
    name, behavior = generator["name"], generator.get("behavior", "create")
    existing = generated.get((kind, name))
    if behavior == "create":
        if existing is not None:
            raise Unsupported(f"{kind} {name} generated twice")
        obj: Obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}
        objects.append(obj)
        generated[(kind, name)] = obj
    elif existing is None:
        raise Unsupported(f"{kind} {name}: behavior {behavior} but no base to {behavior}")
    else:
        obj = existing
        if behavior == "merge":
            data = {**_plain_data(obj), **data}
        elif behavior != "replace":
            raise Unsupported(f"behavior {behavior}")
    if kind == "Secret":
        obj["type"] = "Opaque"
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        _set_data(obj, encoded)
    else:
        _set_data(obj, data)
    content = json.dumps([kind, name, obj.get("data", {})], sort_keys=True)
    obj["metadata"]["name"] = f"{name}-{hashlib.sha256(content.encode()).hexdigest()[:10]}"


def _set_data(obj: Obj, data: dict[str, str]) -> None:
    if data:
        obj["data"] = data
    else:
        obj.pop("data", None)


def _plain_data(obj: Obj) -> dict[str, str]:
    data: dict[str, str] = obj.get("data", {})
    if obj["kind"] == "Secret":
        return {k: base64.b64decode(v).decode() for k, v in data.items()}
    return dict(data)


def env_pairs(text: str) -> dict[str, str]:
    pairs = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


def _patch(folder: Path, patch: Obj, objects: list[Obj]) -> None:
    if "path" in patch:
        for document in yaml.safe_load_all((folder / patch["path"]).read_text()):
            target = _find(objects, document["kind"], document["metadata"]["name"])
            _merge(target, document)
    elif set(patch) == {"target", "patch"}:
        target = _find(objects, patch["target"]["kind"], patch["target"]["name"])
        for op in yaml.safe_load(patch["patch"]):
            _json_patch(target, op)
    else:
        raise Unsupported(f"patch {sorted(patch)}")


def _find(objects: list[Obj], kind: str, name: str) -> Obj:
    for obj in objects:
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return obj
    raise Unsupported(f"patch target {kind}/{name} not found")


def _merge(target: Obj, patch: Obj) -> None:
    """Strategic merge as far as our patches need it."""
    for key, value in patch.items():
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            _merge(current, value)
        elif isinstance(value, list) and isinstance(current, list) and _named(value + current):
            by_name = {item["name"]: item for item in current}
            for item in value:
                if item["name"] in by_name:
                    _merge(by_name[item["name"]], item)
                else:
                    current.append(copy.deepcopy(item))
        else:
            target[key] = copy.deepcopy(value)


def _named(items: list[Any]) -> bool:
    return all(isinstance(item, dict) and "name" in item for item in items)


def _json_patch(target: Obj, op: Obj) -> None:
    *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
    node: Any = target
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if op["op"] in ("add", "replace") and isinstance(node, dict):
        node[last] = copy.deepcopy(op["value"])
    elif op["op"] == "remove" and isinstance(node, dict):
        del node[last]
    else:
        raise Unsupported(f"JSON patch {op['op']} at {op['path']}")


def _pod_specs(obj: Obj) -> list[Obj]:
    spec = obj.get("spec", {})
    if "jobTemplate" in spec:
        spec = spec["jobTemplate"]["spec"]
    template = spec.get("template", {})
    return [template["spec"]] if "spec" in template else []


def _containers(pod: Obj) -> list[Obj]:
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def _set_image(objects: list[Obj], image: Obj) -> None:
    new = f"{image.get('newName', image['name'])}:{image['newTag']}"
    for obj in objects:
        for pod in _pod_specs(obj):
            for container in _containers(pod):
                if container["image"].split(":")[0] == image["name"]:
                    container["image"] = new


def _rename_references(objects: list[Obj], generated: dict[tuple[str, str], Obj]) -> None:
    names = {key: obj["metadata"]["name"] for key, obj in generated.items()}

    def rename(ref: Obj, kind: str, field: str = "name") -> None:
        ref[field] = names.get((kind, ref[field]), ref[field])

    for obj in objects:
        for pod in _pod_specs(obj):
            for container in _containers(pod):
                for source in container.get("envFrom", []):
                    if "configMapRef" in source:
                        rename(source["configMapRef"], "ConfigMap")
                    if "secretRef" in source:
                        rename(source["secretRef"], "Secret")
                for env in container.get("env", []):
                    value_from = env.get("valueFrom", {})
                    if "configMapKeyRef" in value_from:
                        rename(value_from["configMapKeyRef"], "ConfigMap")
                    if "secretKeyRef" in value_from:
                        rename(value_from["secretKeyRef"], "Secret")
            for volume in pod.get("volumes", []):
                if "configMap" in volume:
                    rename(volume["configMap"], "ConfigMap")
                if "secret" in volume:
                    rename(volume["secret"], "Secret", "secretName")


def comparable(objects: list[Obj]) -> list[Obj]:
    """The objects with every generated name's hash suffix removed, wherever it appears, and
    Secret values decoded (kustomize wraps long base64 lines)."""
    hashed = {
        obj["metadata"]["name"]: HASH_SUFFIX.sub("", obj["metadata"]["name"])
        for obj in objects
        if obj["kind"] in ("ConfigMap", "Secret") and HASH_SUFFIX.search(obj["metadata"]["name"])
    }

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items()}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return hashed.get(node, node) if isinstance(node, str) else node

    stripped = [strip(obj) for obj in objects]
    for obj in stripped:
        if obj["kind"] == "Secret":
            obj["data"] = {k: base64.b64decode(v).decode() for k, v in obj.get("data", {}).items()}
    return stripped
