"""Loading YAML nobody on the team wrote (SKILL.md front matter, policy files) within bounds.

`yaml.safe_load` builds no objects, but it still shares aliased nodes, so a few hundred bytes of
nested aliases ("billion laughs") expand to billions of elements the moment anything walks,
validates or formats the result. Here the composed node graph is measured, counting each alias
as the whole subtree it stands for, and refused before anything is built from it.
"""

from __future__ import annotations

import yaml

# Expanded nodes a document may hold: far above any real policy, far below a stall.
MAX_YAML_NODES = 20_000
MAX_YAML_DEPTH = 64


class UntrustedYamlError(ValueError):
    """The YAML is malformed or too large once its aliases are expanded; the message says which."""


def load_untrusted_yaml(text: str | bytes, max_nodes: int = MAX_YAML_NODES) -> object:
    """Parse one YAML document safely, refusing alias bombs, cycles and deep nesting.

    Raises:
        UntrustedYamlError: not YAML, or over `max_nodes` expanded nodes or `MAX_YAML_DEPTH` levels.
    """
    try:
        loader = yaml.SafeLoader(text)  # the reader already refuses some characters
    except yaml.YAMLError as err:
        raise UntrustedYamlError(" ".join(str(err).split())) from None
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise UntrustedYamlError(f"nested deeper than {MAX_YAML_DEPTH} levels; flatten it") from None
        except yaml.YAMLError as err:
            raise UntrustedYamlError(" ".join(str(err).split())) from None
        if node is None:
            return None
        _measure(node, max_nodes)
        try:
            return loader.construct_document(node)
        except (yaml.YAMLError, RecursionError, TypeError, ValueError) as err:
            raise UntrustedYamlError(" ".join(str(err).split())[:300]) from None
    finally:
        loader.dispose()


def _measure(root: yaml.Node, max_nodes: int) -> None:
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int, path: set[int]) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in path:
            raise UntrustedYamlError("an alias refers to a node that contains it; remove the cycle")
        if depth > MAX_YAML_DEPTH:
            raise UntrustedYamlError(f"nested deeper than {MAX_YAML_DEPTH} levels; flatten it")
        total = 1
        if isinstance(node, yaml.SequenceNode | yaml.MappingNode):
            path.add(key)
            children = (
                node.value if isinstance(node, yaml.SequenceNode) else [n for kv in node.value for n in kv]
            )
            for child in children:
                total += size(child, depth + 1, path)
                if total > max_nodes:
                    raise UntrustedYamlError(
                        f"expands to over {max_nodes} values (aliases count as what they repeat); "
                        "remove nested aliases"
                    )
            path.discard(key)
        sizes[key] = total
        return total

    size(root, 0, set())
