"""Land-cover layout of synthetic scenes: which materials cover each pixel, and how lit.

The layout is drawn at the PAN resolution from a seeded generator: zones of fields, town
and woods (whole parcels take the zone at their centroid, so their edges stay straight);
fields are rotated parcels with per-field crop density, row texture and hedges or tracks;
town blocks have roads, sidewalks, one to three buildings with gable roofs and yards with
trees; woods are tree crowns lit on their sunny side; water is a lake or a winding river;
straight roads cross the countryside; buildings cast shadows away from the sun.
`synthetic.py` turns the result into spectra and sensor observations.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.fft

__all__ = ["MATERIAL_NAMES", "render_cover"]

# Material order of the abundance columns (synthetic.MATERIALS gives their spectra).
MATERIAL_NAMES = ("vegetation", "dry_vegetation", "soil", "water", "turbid_water", "asphalt",
                  "concrete", "red_roof", "metal_roof", "dark_roof")
(VEG, DRY, SOIL, WATER, TURBID, ASPHALT, CONCRETE, RED_ROOF, METAL_ROOF, DARK_ROOF) = range(10)
_M = len(MATERIAL_NAMES)


def _noise(rng, h, w, scale, beta=2.0, count=1, kind="fractal") -> np.ndarray:
  """(count, h, w) float32 zero-mean unit-std random fields (periodic).

  kind "fractal": power ~ 1/f^beta above frequency 1/scale (texture with features up to
  `scale` pixels); "blobs": spectrum peaked at 1/scale (blobs about `scale` pixels across);
  "smooth": Gaussian low-pass (smooth regions about `scale` pixels across).
  """
  fy = np.fft.fftfreq(h).astype(np.float32)[:, None]
  fx = np.fft.rfftfreq(w).astype(np.float32)[None, :]
  f = np.sqrt(fy * fy + fx * fx)
  if kind == "blobs":
    amp = (f * scale) ** 2 * np.exp(-((f * scale) ** 2))
  elif kind == "smooth":
    amp = np.exp(-((f * scale) ** 2))
  else:
    amp = (f + 1.0 / scale) ** (-beta / 2)
  amp[0, 0] = 0.0
  shape = (count, h, w // 2 + 1)
  spec = (rng.standard_normal(shape, np.float32) + 1j * rng.standard_normal(shape, np.float32))
  out = scipy.fft.irfft2(spec * amp, s=(h, w)).astype(np.float32)
  out /= out.std(axis=(1, 2), keepdims=True) + 1e-12
  return out


class _Grid(NamedTuple):
  """A rotated parcel grid over all pixels (flat arrays)."""

  cell: np.ndarray  # (P,) int cell id
  count: int  # number of cell ids
  d: tuple  # distances (P,) to the cell's sides: u start, u end, v start, v end
  u: np.ndarray  # rotated coordinates (P,)
  v: np.ndarray


def _grid(rng, y, x, h, w, lo, hi) -> _Grid:
  """Parcels of random sides in [lo, hi] pixels on a randomly rotated grid; the strips along
  u are offset from each other (brick pattern), as fields and blocks are."""
  angle = rng.uniform(0, np.pi)
  c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
  u, v = x * c + y * s, y * c - x * s
  span = float(np.hypot(h, w))

  def bounds():  # cell edges from below -span to beyond span + hi (|u|, |v| <= span)
    steps = rng.uniform(lo, hi, size=int(np.ceil((2 * span + 3 * hi) / lo)) + 1)
    return (-span - hi - rng.uniform(0, hi) + np.cumsum(steps)).astype(np.float32)

  bu = bounds()
  iu = np.searchsorted(bu, u, side="right")
  v = v + rng.uniform(0, hi, size=bu.size + 1).astype(np.float32)[iu]
  bv = bounds()
  iv = np.searchsorted(bv, v, side="right")
  d = (u - bu[iu - 1], bu[iu] - u, v - bv[iv - 1], bv[iv] - v)
  return _Grid(iu * (bv.size + 1) + iv, (bu.size + 1) * (bv.size + 1), d, u, v)


_ZONE_CELL = 16  # pixels per cell of the coarse zone-score grid


def _cell_zone(grid: _Grid, y, x, score: np.ndarray) -> np.ndarray:
  """Zone (argmax of the coarse `score` (Z, h, w)) at each parcel's centroid: whole parcels
  share a zone, so zone borders follow parcel edges (straight), not score contours."""
  n = np.maximum(np.bincount(grid.cell, minlength=grid.count), 1)
  cy = (np.bincount(grid.cell, y, grid.count) / n / _ZONE_CELL).astype(int)
  cx = (np.bincount(grid.cell, x, grid.count) / n / _ZONE_CELL).astype(int)
  cy, cx = np.clip(cy, 0, score.shape[1] - 1), np.clip(cx, 0, score.shape[2] - 1)
  return np.argmax(score[:, cy, cx], axis=0)


def _set(a, cols, material):
  """Makes pixels `cols` of the (M, n) abundance `a` pure `material` (index or one per pixel)."""
  a[:, cols] = 0
  a[material, cols] = 1


def _fields(rng, g: _Grid, sel, tex):
  """Fields on pixels `sel`: (abundance (M, n), light (n,), spectral tilt (n,))."""
  cell, u, v = g.cell[sel], g.u[sel], g.v[sel]
  k = g.count
  kind = rng.choice(4, size=k, p=[0.35, 0.2, 0.25, 0.2])  # crop, bare soil, grass, stubble
  dens = np.choose(kind, [rng.uniform(.6, .95, k), rng.uniform(0, .1, k),
                          rng.uniform(.4, .8, k), rng.uniform(.05, .3, k)])
  dry = np.choose(kind, [rng.uniform(0, .2, k), rng.uniform(0, .2, k),
                         rng.uniform(.2, .6, k), rng.uniform(.6, 1, k)])
  amp = np.choose(kind, [0.5, 0.2, 0.0, 0.4]) * rng.uniform(0.5, 1, k)
  period, phase = rng.uniform(6, 18, k), rng.uniform(0, 2 * np.pi, k)
  coord = np.where((rng.random(k) < 0.5)[cell], u, v)  # rows along u or v
  rows = 0.5 + 0.5 * np.sin(2 * np.pi * coord / period[cell] + phase[cell])
  veg = np.clip(dens[cell] * (1 - amp[cell] * rows) + 0.08 * tex, 0, 1)
  a = np.zeros((_M, sel.size), np.float32)
  a[VEG], a[DRY], a[SOIL] = veg, dry[cell] * (1 - veg), (1 - dry[cell]) * (1 - veg)
  edge = np.minimum(np.minimum(g.d[0][sel], g.d[1][sel]), np.minimum(g.d[2][sel], g.d[3][sel]))
  _set(a, np.flatnonzero(edge < rng.uniform(0, 4)), VEG if rng.random() < 0.6 else SOIL)
  # Achromatic variation dominates real scenes: per-field albedo (soil moisture, crop
  # height), furrow shading along the rows and within-field patchiness.
  light = np.exp(rng.normal(0, 0.15, k))[cell] * (1 - 0.15 * amp[cell] * rows) * (1 + 0.1 * tex)
  return a, light.astype(np.float32), rng.normal(0, 0.1, k)[cell].astype(np.float32)


def _town(rng, g: _Grid, sel, crowns):
  """Blocks on pixels `sel`: roads, sidewalks, 1-3 buildings per block, yards with trees.

  Returns (abundance (M, n), light (n,), building height in pixels (n,), 0 off buildings).
  """
  cell = g.cell[sel]
  d = [side[sel] for side in g.d]
  k, n = g.count, sel.size
  road, walk = rng.uniform(5, 12), 3.0
  yard = np.clip(0.45 + 0.35 * crowns, 0, 1)  # grass with trees
  a = np.zeros((_M, n), np.float32)
  a[VEG], a[DRY], a[SOIL] = yard, 0.6 * (1 - yard), 0.4 * (1 - yard)
  _set(a, np.flatnonzero((rng.random(k) < 0.2)[cell]), ASPHALT)  # parking lots
  m = rng.uniform(road + walk + 2, road + walk + 25, (4, k))[:, cell]  # set-backs
  inner = [d[i] - m[i] for i in range(4)]
  inside = (inner[0] > 0) & (inner[1] > 0) & (inner[2] > 0) & (inner[3] > 0)
  # Split the built area along u into nb buildings separated by gaps.
  nb = rng.choice([1, 2, 3], size=k, p=[0.4, 0.35, 0.25])[cell]
  length = np.maximum(inner[0] + inner[1], 1)
  t = inner[0] / length * nb
  idx = np.minimum(t.astype(int), nb - 1)
  gap = rng.uniform(2, 8, k)[cell]
  pos = (t - idx) * length / nb
  bld = inside & (pos > gap) & (length / nb - pos > gap) & (rng.random(k) < 0.9)[cell]
  bid = cell * 3 + idx  # building id
  roof = rng.choice([RED_ROOF, METAL_ROOF, DARK_ROOF, CONCRETE], size=3 * k, p=[.3, .2, .25, .25])
  rows = np.flatnonzero(bld)
  _set(a, rows, roof[bid[rows]])
  light = np.ones(n, np.float32)
  # Per-building albedo; gable roofs: the halves either side of the ridge face the sun
  # differently (a sharp line along u).
  gable = (rng.random(3 * k) < 0.5) * rng.uniform(0.05, 0.25, 3 * k)
  side = np.where(inner[2][rows] < inner[3][rows], 1.0, -1.0)
  light[rows] = np.exp(rng.normal(0, 0.12, 3 * k))[bid[rows]] * (1 + side * gable[bid[rows]])
  edge = np.minimum(np.minimum(d[0], d[1]), np.minimum(d[2], d[3]))
  _set(a, np.flatnonzero(edge < road + walk), CONCRETE)
  _set(a, np.flatnonzero(edge < road), ASPHALT if rng.random() < 0.75 else CONCRETE)
  height = np.zeros(n, np.float32)
  height[rows] = rng.uniform(4, 25, 3 * k)[bid[rows]]
  return a, light, height


def _woods(rng, crowns, shade):
  """Woodland: tree crowns (blobs) over undergrowth; the gaps between crowns lie in their
  shade and each crown is lit on its sunny side (achromatic variation, as in real woods)."""
  cover = 1 / (1 + np.exp(-4 * (crowns - rng.uniform(-1.0, 0.3))))
  under = rng.uniform(0.5, 0.9)
  a = np.zeros((_M, crowns.size), np.float32)
  a[VEG] = cover + (1 - cover) * under
  a[DRY] = (1 - cover) * (1 - under) * 0.6
  a[SOIL] = (1 - cover) * (1 - under) * 0.4
  light = (0.5 + 0.5 * cover) * np.clip(1 + 0.35 * shade, 0.4, 1.6)
  return a, light.astype(np.float32)


def _shift(img, dy, dx):
  """img moved by (dy, dx) pixels, zero-filled."""
  out = np.zeros_like(img)
  h, w = img.shape
  if abs(dy) >= h or abs(dx) >= w:
    return out
  out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
      img[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
  return out


def _water(rng, y, x, h, w) -> np.ndarray:
  """(P,) water fraction: none, a lake (smooth field above a level) or a winding river."""
  kind = rng.choice(3, p=[0.45, 0.3, 0.25])
  if kind == 1:
    low = _noise(rng, h, w, 0.4 * max(h, w), kind="smooth")[0].ravel()
    return np.clip((low - np.quantile(low, 1 - rng.uniform(0.05, 0.3))) / 0.05, 0, 1)
  if kind == 2:
    ang = rng.uniform(0, np.pi)
    along = (x - w / 2) * np.cos(ang) + (y - h / 2) * np.sin(ang)
    across = (y - h / 2) * np.cos(ang) - (x - w / 2) * np.sin(ang)
    centre = rng.uniform(-0.3, 0.3) * min(h, w) + rng.uniform(20, 80) * np.sin(
        2 * np.pi * along / rng.uniform(200, 600) + rng.uniform(0, 2 * np.pi))
    return np.clip((rng.uniform(8, 40) - np.abs(across - centre)) / 2 + 0.5, 0, 1)
  return np.zeros(h * w, np.float32)


def render_cover(rng: np.random.Generator, h: int, w: int):
  """Draws the land cover of one H x W scene.

  Args:
    rng: seeded generator (the only randomness).
    h, w: size in pixels (PAN grid).

  Returns:
    abundance (M, H*W) float32 material fractions (columns sum to 1, rows in the order of
      MATERIAL_NAMES),
    light (H*W,) float32 brightness factor (albedo, roof and crown shading, texture),
    tilt (H*W,) float32 per-field spectral tilt, shadow (H*W,) bool cast shadow.
  """
  yy, xx = np.indices((h, w), np.float32)
  y, x = yy.ravel(), xx.ravel()
  tex = _noise(rng, h, w, 40.0, count=2).reshape(2, -1)
  # Zones (fields, town, woods): smooth scores plus a scene "theme" favouring one;
  # fields and blocks take the zone of their centroid, so town and field edges are straight.
  theme = np.log(rng.dirichlet([1.0, 0.8, 0.5]) + 0.05)
  hz, wz = -(-h // _ZONE_CELL), -(-w // _ZONE_CELL)  # only sampled at centroids: coarse
  score = _noise(rng, hz, wz, 0.25 * max(hz, wz), count=3, kind="smooth")
  score += 1.2 * theme[:, None, None]
  # Tree crowns of 10-25 pixels (3-8 m at 0.3 m) in clumps and clearings.
  crowns2d = _noise(rng, h, w, rng.uniform(20, 50), kind="blobs")[0]
  crowns2d += 0.5 * _noise(rng, h, w, 150.0, kind="blobs")[0]
  crowns2d += 0.35 * _noise(rng, h, w, 8.0, kind="blobs")[0]  # leafy texture
  crowns = crowns2d.ravel()
  sun = rng.uniform(0, 2 * np.pi)
  sy, sx = np.sin(sun), np.cos(sun)
  lo_b, lo_f = rng.uniform(60, 120), rng.uniform(100, 200)  # dense town ... suburbs
  blocks = _grid(rng, y, x, h, w, lo_b, lo_b * rng.uniform(2, 3.5))
  fields = _grid(rng, y, x, h, w, lo_f, lo_f * rng.uniform(2, 4))
  town = _cell_zone(blocks, y, x, score)[blocks.cell] == 1
  rural = ~town & (_cell_zone(fields, y, x, score[[0, 2]])[fields.cell] == 0)
  woods = ~town & ~rural
  p, m = h * w, _M
  abund, light = np.zeros((m, p), np.float32), np.ones(p, np.float32)
  tilt, height = np.zeros(p, np.float32), np.zeros(p, np.float32)
  sel = np.flatnonzero(rural)
  abund[:, sel], light[sel], tilt[sel] = _fields(rng, fields, sel, tex[0, sel])
  sel = np.flatnonzero(town)
  abund[:, sel], light[sel], height[sel] = _town(rng, blocks, sel, crowns[sel])
  sel = np.flatnonzero(woods)
  shade = (crowns2d - _shift(crowns2d, int(round(2 * sy)), int(round(2 * sx)))).ravel()
  abund[:, sel], light[sel] = _woods(rng, crowns[sel], shade[sel])
  wf = _water(rng, y, x, h, w).astype(np.float32) * ~town  # lakes and rivers skirt the town
  on = np.flatnonzero(wf)
  if on.size:
    turb, f = rng.uniform(0, 0.7), wf[on]
    abund[:, on] *= 1 - f
    abund[WATER, on] += f * (1 - turb)
    abund[TURBID, on] += f * turb
    light[on] = light[on] * (1 - f) + f * (1 + 0.02 * tex[1, on])  # water is smooth
  # Straight roads across fields, woods and rivers (thin bright or dark lines).
  for _ in range(rng.integers(0, 3)):
    ang = rng.uniform(0, np.pi)
    dist = np.abs((x - rng.uniform(0, w)) * np.sin(ang) - (y - rng.uniform(0, h)) * np.cos(ang))
    frac = (np.clip(rng.uniform(1.5, 9) - dist + 0.5, 0, 1) * ~town).astype(np.float32)
    on = np.flatnonzero(frac)  # paint only the road's pixels
    f = frac[on]
    abund[:, on] *= 1 - f
    abund[CONCRETE if rng.random() < 0.6 else ASPHALT, on] += f
    light[on] = light[on] * (1 - f) + f
  # Cast shadows of buildings, away from the sun: union of the height-limited shifts.
  height = height.reshape(h, w)
  shadow = np.zeros((h, w), bool)
  for t in range(1, int(height.max()) + 1):
    shadow |= _shift(height >= t, int(round(-t * sy)), int(round(-t * sx)))
  shadow &= height == 0
  light *= 1 + 0.04 * tex[0] * (1 - wf)  # small-scale brightness grain
  return abund, light, tilt, shadow.ravel()
