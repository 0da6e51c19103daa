import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
EXAMPLES = SHARED / "contract" / "examples"
KOMPENSASI = str(Path(sys.executable).with_name("kompensasi"))
