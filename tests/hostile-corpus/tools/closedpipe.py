#!/usr/bin/env python3
"""Run a command whose stdout is a pipe with no reader (read end closed before start):
deterministic broken pipe. Prints nothing itself; exits with the command's status
(128+N for a signal N, as a shell would)."""
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[1:], stdout=w, restore_signals=True)
os.close(w)
rc = p.returncode
sys.exit(128 - rc if rc < 0 else rc)
