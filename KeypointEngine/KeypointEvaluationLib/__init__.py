"""Evaluation of SlicerKeypoints: benchmarks, dataset readers (FIRE, ...), and the synthetic pairs with known truth
that the demo, the benchmarks and the self-tests use.

Above the engine (it imports KeypointEngineLib, never the reverse) and beside the MRML layer; no Slicer import.
Shipped with the KeypointEngine module because the Slicer self-tests use its synthetic pairs. Training
(Testing/Training) may import it; nothing here imports training.
"""
