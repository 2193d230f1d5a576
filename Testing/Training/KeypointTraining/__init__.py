"""The headless training backend of SlicerKeypoints: one runner for every model.

A model plugs in as a *recipe* (recipes.py): it builds the network, data and loss from a config; the runner
(runner.py) does seeds, the loop, checkpoints and resume, logging, evaluation, distributed training (torchrun) and the
export of weights plus model card (export.py).
"""
