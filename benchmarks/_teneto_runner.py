"""Run teneto's sliding-window derivation (called by bench_connectivity.py).

Usage: ``python _teneto_runner.py DATA.npy OUT.npy WINDOW`` with teneto 0.5.3's
interpreter; prints wall and CPU seconds as JSON.
"""

import json
import sys
import time
import warnings

import numpy as np

warnings.simplefilter("ignore")
from teneto.timeseries import derive_temporalnetwork  # noqa: E402

data = np.load(sys.argv[1])
params = {"method": "slidingwindow", "windowsize": int(sys.argv[3]), "dimord": "time,node"}
wall, cpu = time.perf_counter(), time.process_time()
out = derive_temporalnetwork(data, params)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
np.save(sys.argv[2], out)
print(json.dumps({"wall": wall, "cpu": cpu}))
