import gc

from frontline import runtime


def test_end_cold_start_freezes_the_heap_and_raises_the_young_generation_threshold():
    thresholds, was_frozen = gc.get_threshold(), gc.get_freeze_count() > 0
    gc.unfreeze()  # a StarForge handler module, loaded by another test, may have frozen this process already
    gc.set_threshold(700, *thresholds[1:])
    try:
        runtime.end_cold_start()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (runtime.GC_GENERATION0_THRESHOLD, *thresholds[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        if was_frozen:
            gc.freeze()
