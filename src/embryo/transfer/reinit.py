"""Partial reinitialisation of a checkpoint before fine-tuning (Tamkin et al., 2020).

A scheme is the value of the ``reinit`` wildcard and names which encoder layers keep
their pretrained weights (L = the model's number of layers, layers counted from 0):

- ``none``: every layer pretrained;
- ``progressive-k{K}``: embeddings and layers 0..K-1 kept, layers K..L-1 redrawn
  (K = 0..L; ``progressive-k{L}`` is ``none``) — the paper's progressive reinitialisation;
- ``block-{i}-{j}``: layers i..j redrawn, the rest kept (the paper's localized
  reinitialisation);
- ``only-{i}-{j}``: layers i..j kept, every other layer redrawn (its inverse);
- ``single-{l}``: layer l redrawn;
- ``scramble-s{S}``: every layer kept, their order permuted with seed S (S >= 1).

In every scheme the embeddings (ALBERT's embedding-to-hidden projection included) stay
pretrained, and the pooler and the task head are those of
:func:`embryo.transfer.finetune.load_classifier`: loaded when the checkpoint has them, newly drawn
from the job's seed otherwise (the masked-LM checkpoints of this workflow have no pooler).

Two recipes redraw a layer (config ``transferability.init``; the :class:`Recipe`):

- ``model`` (default): the model's own initialisation, ``_init_weights`` of the
  Hugging Face class — Linear weights from N(0, initializer_range²), biases 0,
  LayerNorm to the identity (weight 1, bias 0). A redrawn layer is then exactly what
  a fresh model of this config would hold.
- ``original``: the exact recipe of the paper's code (``examples/run_glue.py`` of
  dgiova/bert-lm-transferability): only the Linear *weights* are redrawn, from
  ``scipy.stats.truncnorm(-2σ, 2σ, scale=σ)`` with σ = 0.02; biases stay pretrained;
  LayerNorm to the identity. Because truncnorm's bounds are in units of the scale, the
  draws lie in ±0.04σ = ±0.0008: the redrawn weights are near zero, not N(0, σ²).

``keep_layer_norm`` keeps a redrawn layer's LayerNorm parameters pretrained in either
recipe (the paper code's ``--keep_layer_norm``); ``lr_multiplier`` is applied by the
fine-tuning job to the redrawn layers' learning rate (``run_glue_lr.py``, whose
``--learning_rate_new`` is the redrawn layers' rate; its layer loop stops at layer 10 and
its other layers fall back to 5e-5, which we do not copy).

ALBERT shares one layer's weights across all its layers. A scheme that redraws or
reorders layers first unties it (:func:`untie_albert`, which preserves the model's
function) into L independent copies, so the kept layers start equal and then diverge
during fine-tuning. Schemes that change nothing (``none``, ``progressive-k{L}``) leave
ALBERT shared, as standard fine-tuning does. Scrambling a shared ALBERT would permute
identical layers, so it is refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import NamedTuple

from embryo.runtime.errors import EmbryoError

INITS = ("model", "original")


class Recipe(NamedTuple):
    """How the redrawn layers are drawn and trained (``transferability``: ``init``,
    ``keep_layer_norm``, ``reinit_lr_multiplier``)."""

    init: str = "model"
    keep_layer_norm: bool = False
    lr_multiplier: float = 1.0


# what a job that redraws nothing receives, whatever the config says (nothing to redraw)
PLAIN = Recipe()
_PATTERNS = {
    "none": re.compile(r"none"),
    "progressive": re.compile(r"progressive-k(\d+)"),
    "block": re.compile(r"block-(\d+)-(\d+)"),
    "only": re.compile(r"only-(\d+)-(\d+)"),
    "single": re.compile(r"single-(\d+)"),
    "scramble": re.compile(r"scramble-s(\d+)"),
}
# the ``reinit`` wildcard: any scheme name (layer bounds are checked against the model)
WILDCARD = "|".join(p.pattern for p in _PATTERNS.values())


@dataclass(frozen=True)
class Scheme:
    """A parsed scheme: the layers redrawn and the order of the layers after it."""

    name: str
    family: str
    reinit: tuple[int, ...]  # layers redrawn
    order: tuple[int, ...]  # order[i] = the pretrained layer placed at position i

    @property
    def changes_layers(self) -> bool:
        return bool(self.reinit) or self.order != tuple(range(len(self.order)))


def parse_scheme(name: str, num_layers: int) -> Scheme:
    """The :class:`Scheme` called ``name`` for a model of ``num_layers`` layers.

    Unknown names and layer numbers outside 0..L-1 (K outside 0..L) are errors.
    """
    import numpy as np

    layers = range(num_layers)
    found = [(f, m) for f, p in _PATTERNS.items() if (m := p.fullmatch(name))]
    if not found:
        raise EmbryoError(
            f"unknown reinit scheme {name!r}; expected none, progressive-k{{K}}, "
            "block-{i}-{j}, only-{i}-{j}, single-{l} or scramble-s{S}"
        )
    family, match = found[0]
    args = [int(a) for a in match.groups()]
    bounds_ok = {
        "progressive": lambda k: k <= num_layers,
        "block": lambda i, j: 0 <= i <= j < num_layers,
        "only": lambda i, j: 0 <= i <= j < num_layers,
        "single": lambda i: i < num_layers,
        "scramble": lambda s: s >= 1,
    }
    if family in bounds_ok and not bounds_ok[family](*args):
        raise EmbryoError(
            f"reinit {name}: out of range for a model of {num_layers} layers (layers are "
            f"0..{num_layers - 1}, K is 0..{num_layers}, the permutation seed S is >= 1)"
        )
    order = tuple(layers)
    if family == "progressive":
        reinit = tuple(range(args[0], num_layers))
    elif family == "block":
        reinit = tuple(range(args[0], args[1] + 1))
    elif family == "only":
        reinit = tuple(i for i in layers if not args[0] <= i <= args[1])
    elif family == "single":
        reinit = (args[0],)
    else:
        reinit = ()
    if family == "scramble":
        order = tuple(int(i) for i in np.random.RandomState(args[0]).permutation(num_layers))
    return Scheme(name, family, reinit, order)


def expand_schemes(names, num_layers: int) -> list[str]:
    """Scheme names with families expanded for a model of ``num_layers`` layers.

    ``progressive`` -> progressive-k0..k{L-1} and none (= progressive-k{L}, one job
    for both); ``single`` -> single-0..single-{L-1};
    ``block-w{W}`` / ``only-w{W}`` -> every window of W consecutive layers;
    ``scramble-n{N}`` -> the first N seeds S >= 1 whose permutations are distinct and not
    the identity (the identity would repeat ``none``). Other names are checked and kept.
    """
    out = []
    for name in names:
        window = re.fullmatch(r"(block|only)-w(\d+)", name)
        scrambles = re.fullmatch(r"scramble-n(\d+)", name)
        if name == "progressive":  # K = L keeps every layer: that job is none's
            out += [f"progressive-k{k}" for k in range(num_layers)] + ["none"]
        elif name == "single":
            out += [f"single-{i}" for i in range(num_layers)]
        elif window:
            width = int(window[2])
            if not 1 <= width <= num_layers:
                raise EmbryoError(f"reinit {name}: width must be 1..{num_layers}")
            out += [f"{window[1]}-{i}-{i + width - 1}" for i in range(num_layers - width + 1)]
        elif scrambles:
            out += _scramble_seeds(int(scrambles[1]), num_layers)
        else:
            parse_scheme(name, num_layers)
            out.append(name)
    return list(dict.fromkeys(out))


def same_model(names, num_layers: int) -> dict[str, str]:
    """The schemes among ``names`` that are another's experiment: {name: the other's name}.

    Two schemes that redraw the same layers and leave the same order build the same model
    from the same seed (:func:`apply_scheme` draws layer by layer in a fixed order), so
    their fine-tuning is one job: on a 2-layer model ``single-1`` is ``progressive-k1``;
    on any model ``block-{i}-{L-1}`` is ``progressive-k{i}``. The job kept is the first
    in the order none, progressive, block, only, single, scramble.
    """
    parsed = [parse_scheme(name, num_layers) for name in names]
    families = list(_PATTERNS)
    first: dict[tuple, str] = {}
    for scheme in sorted(parsed, key=lambda s: families.index(s.family)):
        first.setdefault((scheme.reinit, scheme.order), scheme.name)
    return {
        s.name: first[(s.reinit, s.order)] for s in parsed if first[(s.reinit, s.order)] != s.name
    }


def _scramble_seeds(count: int, num_layers: int) -> list[str]:
    others = math.factorial(num_layers) - 1
    if count > others:
        raise EmbryoError(
            f"reinit scramble-n{count}: a model of {num_layers} layers has only {others} "
            f"layer order{'s' * (others != 1)} other than its own"
        )
    seen, names, seed = {tuple(range(num_layers))}, [], 0
    while len(names) < count:
        seed += 1
        order = parse_scheme(f"scramble-s{seed}", num_layers).order
        if order not in seen:
            seen.add(order)
            names.append(f"scramble-s{seed}")
    return names


# ---- the model side -----------------------------------------------------------------


def is_albert(model) -> bool:
    return model.config.model_type == "albert"


def encoder_layers(model):
    """The model's encoder layers as a list of modules, in order (ALBERT: untied first),
    found by its family (:func:`embryo.models.families.layer_list`)."""
    from embryo.models.families import layer_list

    if is_albert(model):
        cfg = model.config
        if cfg.num_hidden_groups != cfg.num_hidden_layers or cfg.inner_group_num != 1:
            raise EmbryoError("ALBERT shares its layers; untie it (untie_albert) first")
        return [group.albert_layers[0] for group in layer_list(model)]
    return list(layer_list(model))


def _set_layer_list(model, modules) -> None:
    """Replace the model's layer list (its family's ``layers`` path) by ``modules``."""
    import torch

    from embryo.models.families import family, resolve

    path = family(model.config.model_type).layers
    parent, _, name = path.rpartition(".")
    setattr(resolve(model.base_model, parent), name, torch.nn.ModuleList(modules))


def is_norm(module) -> bool:
    """A normalisation layer: ``torch.nn.LayerNorm`` or a family's own (a class whose name
    ends in LayerNorm or RMSNorm)."""
    import torch

    return isinstance(module, torch.nn.LayerNorm) or type(module).__name__.endswith(
        ("LayerNorm", "RMSNorm")
    )


def untie_albert(model):
    """Give each of an ALBERT's L layers its own copy of the shared weights, in place.

    ALBERT computes layer i with group ``int(i / (L / G))`` of its G layer groups
    (G = ``num_hidden_groups``, 1 in the published models). Untying makes G = L, layer i
    a copy of the group it used: the model computes the same function, now with
    independent per-layer parameters. Models with ``inner_group_num`` > 1 are refused.
    """
    import copy

    import torch

    cfg = model.config
    if cfg.inner_group_num != 1:
        raise EmbryoError(
            f"untying ALBERT needs inner_group_num 1; this model has {cfg.inner_group_num}"
        )
    if cfg.num_hidden_groups == cfg.num_hidden_layers:
        return model
    encoder = model.base_model.encoder
    per_group = cfg.num_hidden_layers / cfg.num_hidden_groups
    groups = encoder.albert_layer_groups
    encoder.albert_layer_groups = torch.nn.ModuleList(
        copy.deepcopy(groups[int(i / per_group)]) for i in range(cfg.num_hidden_layers)
    )
    cfg.num_hidden_groups = cfg.num_hidden_layers
    return model


def _redraw_model(model, layer) -> None:
    """The model's own ``_init_weights`` on every submodule of ``layer``."""
    for param in layer.parameters():
        # from_pretrained marks loaded tensors as initialised; the init helpers skip those
        if hasattr(param, "_is_hf_initialized"):
            del param._is_hf_initialized
    for module in layer.modules():
        model._init_weights(module)


def _redraw_original(layer, generator, std: float = 0.02) -> None:
    """Tamkin et al.'s recipe: Linear weights from truncnorm(-2σ, 2σ, scale=σ), LN to identity."""
    import numpy as np
    import torch
    from scipy.stats import truncnorm

    rng = np.random.default_rng(generator)
    with torch.no_grad():
        for module in layer.modules():
            if isinstance(module, torch.nn.Linear):
                draws = truncnorm(-2 * std, 2 * std, scale=std).rvs(
                    module.weight.numel(), random_state=rng
                )
                module.weight.copy_(
                    torch.as_tensor(draws, dtype=module.weight.dtype).view_as(module.weight)
                )
            elif is_norm(module):
                module.weight.fill_(1.0)
                if getattr(module, "bias", None) is not None:
                    module.bias.fill_(0.0)


def apply_scheme(model, name: str, *, seed: int, recipe: Recipe = PLAIN) -> Scheme:
    """Apply scheme ``name`` to ``model`` in place; new weights drawn from ``seed`` by
    ``recipe`` (its ``init`` and ``keep_layer_norm``).

    Returns the parsed :class:`Scheme`. Layers are redrawn first, then reordered (as the
    paper's code does), so ``reinit`` names pretrained layer positions.
    """
    import torch

    from embryo.models.families import missing
    from embryo.models.seeds import derive_seed

    init = recipe.init
    if init not in INITS:
        raise EmbryoError(f"unknown reinit init {init!r}; expected one of {INITS}")
    scheme = parse_scheme(name, model.config.num_hidden_layers)
    if is_albert(model) and scheme.family == "scramble" and model.config.num_hidden_groups == 1:
        raise EmbryoError(
            f"reinit {name}: this ALBERT shares one set of weights across its layers, "
            "so a permutation of its layers is the same model; scrambling is refused"
        )
    if not scheme.changes_layers:
        return scheme
    lacks = missing(model.config.model_type, "transfer")
    if lacks is not None:
        raise EmbryoError(f"reinit {name}: a {model.config.model_type} model lacks {lacks}")
    if is_albert(model):
        untie_albert(model)
    layers = encoder_layers(model)
    torch.manual_seed(derive_seed(seed, "reinit"))
    for i in scheme.reinit:
        norms = [m for m in layers[i].modules() if is_norm(m)]
        kept = [{k: v.clone() for k, v in m.state_dict().items()} for m in norms]
        if init == "model":
            _redraw_model(model, layers[i])
        else:
            _redraw_original(layers[i], derive_seed(seed, f"reinit-{i}"))
        if recipe.keep_layer_norm:
            for module, state in zip(norms, kept, strict=True):
                module.load_state_dict(state)
    if scheme.family == "scramble":
        from embryo.models.families import layer_list

        before = list(layer_list(model))  # ALBERT: the (untied) groups, not their layers
        _set_layer_list(model, [before[i] for i in scheme.order])
    return scheme
