"""Data: Cityscapes labels, the SynthCity scenes, image and dataset readers, training crops.

Modules (imported on use, so reading labels does not load torch or OpenCV):
``labels`` (19 trainIds from cityscapesScripts), ``sample`` (Sample and the source protocol),
``images`` (safe image and label-map reading), ``synthcity`` (procedural scenes and their command
line), ``cityscapes`` (Cityscapes layout and folder pairs), ``augment`` (TrainCrops),
``sources`` (``open_source(spec)``).
"""
