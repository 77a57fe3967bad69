"""Mechanism statistics of issue #12: what LDv1 and LDv2 do, by distance to GT boundaries and by class.

Every statistic is per image and additive (sums and counts in :class:`~gald_viz.mechanisms.sums.CellSums`
or plain count arrays), so any subset of images, any class filter and any bootstrap resample
(:mod:`gald_viz.stats.bootstrap`) gives exact means.

- :mod:`~gald_viz.mechanisms.geometry`: where a feature cell sits on the native image.
- :mod:`~gald_viz.mechanisms.bands`: distance to the GT boundary, distance bands, feature-cell sampling.
- :mod:`~gald_viz.mechanisms.sums`: additive per-band, per-class sums and counts.
- :mod:`~gald_viz.mechanisms.ldv1`: the LDv1 mask M (GALD Eq. 1) by band and class.
- :mod:`~gald_viz.mechanisms.ldv2`: the LDv2 affinities (GALD Eq. 7) by band and class.
- :mod:`~gald_viz.mechanisms.fourway`: GA vs GALD fixes/breaks and per-model accuracy by band and class.
- :mod:`~gald_viz.mechanisms.reach`: how far a model looks from one pixel (gradient mass by radius).
- :mod:`~gald_viz.mechanisms.plan`: what an evaluation job stores per image (:class:`MechanismPlan`).
- :mod:`~gald_viz.mechanisms.job`: one image of such a job (taps recorded in its one forward, knock-outs).
- :mod:`~gald_viz.mechanisms.report`: ``mechanism_report`` / ``ranked_images`` with bootstrap intervals.
- :mod:`~gald_viz.mechanisms.cli`: ``python -m gald_viz.evaluate mechanisms``.
"""
