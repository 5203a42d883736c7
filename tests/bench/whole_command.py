"""The script a benchmark runs with ``python -c`` to time `mlops-studio ...` as a whole process."""

# argv after ``-c COMMAND`` is the command line; the process's own peak memory goes to stderr
# as JSON. VmHWM is this process's own high-water mark; ru_maxrss keeps the parent's across exec.
COMMAND = """
import json, resource, sys
def peak_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
from app.cli import main
sys.argv = ["mlops-studio", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print(json.dumps({"peak_mib": peak_mib()}), file=sys.stderr)
"""
