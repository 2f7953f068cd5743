"""ganrepro: reproducibility suite for GL-GAN, BRC, LGA and HDCGAN."""
from pathlib import Path

__version__ = "0.1.0"
ROOT = Path(__file__).resolve().parent.parent
