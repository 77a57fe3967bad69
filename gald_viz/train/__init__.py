"""Training command for the zoo's models (GALD, Li et al., IEEE TIP 2021, Sec. IV-A).

The recipe follows the paper's implementation details: SGD with momentum 0.9 and weight decay, the
"poly" learning rate, an auxiliary loss on backbone stage 3 weighted 0.4, optional online hard example
mining and random scale, crop and flip. The package, one concept per module:

- :mod:`~gald_viz.train.config`: :class:`TrainConfig`, each setting written once with its flag, help
  text, resume rule and checkpoint metadata key;
- :mod:`~gald_viz.train.cli`: the command line generated from those fields, and ``main``;
- :mod:`~gald_viz.train.data`: the SynthCity pool and the augmented training set;
- :mod:`~gald_viz.train.loss`: poly schedule, OHEM and the segmentation loss;
- :mod:`~gald_viz.train.freeze`: ``--probes`` and ``--freeze`` (weights and BN statistics);
- :mod:`~gald_viz.train.resume`: resume sidecars and ``--init`` copying;
- :mod:`~gald_viz.train.loop`: ``train`` (setup, step, logging, periodic sidecars, final save).

Inputs are normalised by :func:`gald_viz.inference.normalise_batch`, the function inference uses, so a
model trains on exactly the input convention it is evaluated with.

``--probes`` trains only the probe heads (classifiers on the backbone and GA outputs, so one model shows
FCN, GA and GALD stage predictions) on a frozen model loaded from ``--init``. Without it, probe heads of a
model built with ``probes=true`` train jointly; the model feeds them detached features, so they never
change the main network.

Example::

    python -m gald_viz.train --arch aspp_ldv2 --data synthcity --out runs/aspp_ldv2.safetensors \\
        --iters 600 --batch 8 --crop 256 512 --option backbone=small --option probes=true
"""

from gald_viz.train.cli import main, parse_args
from gald_viz.train.config import TrainConfig, TrainError
from gald_viz.train.data import SynthCityPool, batch_at, build_dataset
from gald_viz.train.loop import git_commit, train
from gald_viz.train.loss import AUX_WEIGHT, POLY_POWER, ohem_cross_entropy, poly_lr, segmentation_loss
from gald_viz.train.resume import load_resume, resume_path, save_resume

__all__ = [
    "AUX_WEIGHT",
    "POLY_POWER",
    "SynthCityPool",
    "TrainConfig",
    "TrainError",
    "batch_at",
    "build_dataset",
    "git_commit",
    "load_resume",
    "main",
    "ohem_cross_entropy",
    "parse_args",
    "poly_lr",
    "resume_path",
    "save_resume",
    "segmentation_loss",
    "train",
]
