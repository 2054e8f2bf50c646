"""The report's figures, one module each, and :data:`FIGURES`, which names them.

Every ``plot_*`` function writes exactly one PNG (dpi 150) and returns ``None``; the figure
itself is built by the module's ``*_figure`` function, which returns a
:class:`matplotlib.figure.Figure`, so tests can inspect the drawn lines before anything is saved.
Figures are bare :class:`~matplotlib.figure.Figure` objects rendered with the Agg canvas
(:mod:`.style`): no pyplot state, no global backend switch, nothing left open after a call, and
identical inputs give identical PNG bytes.

Conventions of the input frames (``exponents`` is
:func:`idscaling.fit.exponents.exponents_table`'s output):

* ``points``: one row per trained model with ``dataset, model, n_tokens,
  val_loss, val_loss_ci_low, val_loss_ci_high`` and a parameter-count column.
* ``exponents``: one row per (dataset, axis), ``axis`` in {"data", "data_envelope", "model"},
  with ``held_fixed`` such as ``"model=small"`` or ``"n_tokens=400000"``, the
  fitted law ``L = prefactor * x ** -alpha_observed`` and the predicted
  exponent ``alpha_predicted`` from the intrinsic dimension ``id``.  The
  model-axis ``prefactor`` is only meaningful on the x axis it was fitted on:
  pass the same ``params_column`` as the fit.
* ``ids``: one row per ID estimate with ``dataset, model, n_tokens, seed,
  layer, id, id_ci_low, id_ci_high``.

NaN values never raise: a NaN confidence bound means no error bar, a NaN
exponent means no line (and a short note in the panel).

A new figure (the README's recipe): one module here with ``<name>_figure(...)`` and
``plot_<name>(..., out_path)``, an entry in :data:`FIGURES`, a rule in ``rules/plots.smk`` (or the
stage's rule file) writing ``results/figures/<name>.png`` with a caption in ``report/``.
"""

from __future__ import annotations

__all__ = ["FIGURES"]

# results/figures/<name>.png -> (module of this package, its plot function)
FIGURES: dict[str, tuple[str, str]] = {
    "data_scaling": ("scaling", "plot_data_scaling"),
    "model_scaling": ("scaling", "plot_model_scaling"),
    "intrinsic_dim": ("intrinsic_dim", "plot_intrinsic_dim"),
    "exponents": ("exponents", "plot_exponents"),
    "id_analyses": ("id_analyses", "plot_id_analyses"),
    "id_scale": ("id_scale", "plot_id_scale"),
    "known_dimension": ("known_dimension", "plot_known_dimension"),
    "id_quality": ("id_quality", "plot_id_quality"),
    "pretrained_scaling": ("pretrained", "plot_pretrained"),
    "pretrained_id_scale": ("id_scale", "plot_id_scale"),
}
