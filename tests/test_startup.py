"""Start-up (issue 3, item 5): ``import augkit`` compiles nothing.

numba (and llvmlite under it) is imported on the first call that runs compiled code, not by
``import augkit``, by building or describing a pipeline, or by the CLI's ``--help``: those stay
well under a second in a fresh interpreter. The timings themselves are measured in
``benchmarks/bench_transforms.py`` (start-up section), not here.
"""
import json
import subprocess
import sys

_CODE = r"""
import json, sys
import augkit as A
pipe = A.Compose([A.RandomCrop(8, 8), A.HorizontalFlip(), A.Shift(), A.Tint(), A.BoxErase(),
                  A.OneOf([A.VerticalFlip(p=1), A.CenterCrop(6, 6)])], seed=0)
again = A.from_dict(A.to_dict(pipe))
import augkit.cli
try:
    augkit.cli.main(["--help"])
except SystemExit:
    pass
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("numba", "llvmlite"))
import numpy as np
pipe(image=np.zeros((10, 10, 3), np.uint8))
after = "numba" in sys.modules
print(json.dumps({"loaded": loaded, "after_call": after}))
"""


def test_import_and_building_pipelines_load_no_numba():
    res = subprocess.run([sys.executable, "-c", _CODE], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["loaded"] == [], f"imported before any compiled call: {out['loaded'][:5]}"
    assert out["after_call"] is True   # the first call does load it: the check above can see numba
