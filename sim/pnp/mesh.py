"""Layered 1D cell-centred meshes, graded geometrically toward the interfaces.

Every layer boundary is a face.  Inside a layer, cell sizes grow geometrically away from each
interface, h_j = h_min r^j, capped at h_max; a layer bounded by interfaces on both sides is
graded from both.  The sizes of each graded segment are rescaled by one factor so that the
segment length is met exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.errors import MeshSizeError

MAX_CELLS = 2_000_000


def graded_segment(length, h_min, h_max, growth):
    """Cell sizes of a segment of `length`, smallest (h_min) at its start (read-only: a sweep
    builds the same segments for every case and every potential, so small ones are kept)."""
    key = (float(length), float(h_min), float(h_max), float(growth))
    sizes = _SEGMENTS.get(key)
    if sizes is None:
        sizes = _graded_segment(*key)
        if sizes.size <= _CACHED_MAX_CELLS:
            if len(_SEGMENTS) >= _CACHED_SEGMENTS:
                _SEGMENTS.clear()
            _SEGMENTS[key] = sizes
    return sizes


_SEGMENTS = {}
_CACHED_SEGMENTS, _CACHED_MAX_CELLS = 256, 20_000


def _graded_segment(length, h_min, h_max, growth):
    if growth < 1.0:
        raise ValueError("growth must be >= 1")
    sizes = []
    total = 0.0
    h = min(h_min, h_max)
    while total < length:
        sizes.append(h)
        total += h
        h = min(h * growth, h_max)
        if len(sizes) > MAX_CELLS:
            raise MeshSizeError(f"mesh of more than {MAX_CELLS} cells: raise h_min_m or h_max_m")
    sizes = np.array(sizes)
    sizes = sizes * (length / sizes.sum())
    sizes.setflags(write=False)
    return sizes


@dataclass
class Mesh:
    faces: np.ndarray          # (N+1,) face positions, m
    layer_of_cell: np.ndarray  # (N,) layer index of each cell
    layer_faces: np.ndarray    # (K+1,) face index of each layer boundary

    @property
    def centers(self):
        return 0.5 * (self.faces[1:] + self.faces[:-1])

    @property
    def widths(self):
        return np.diff(self.faces)

    @property
    def n(self):
        return len(self.faces) - 1

    @property
    def interfaces(self):
        """Positions (m) of the internal layer boundaries."""
        return self.faces[self.layer_faces[1:-1]]

    def refined(self, factor=2):
        """Each cell split into `factor` equal cells (nested refinement)."""
        f = self.faces
        parts = [f[:-1] + (f[1:] - f[:-1]) * j / factor for j in range(factor)]
        new = np.empty(self.n * factor + 1)
        new[:-1] = np.stack(parts, axis=1).ravel()
        new[-1] = f[-1]
        return Mesh(new, np.repeat(self.layer_of_cell, factor), self.layer_faces * factor)


def layered_mesh(thicknesses, h_min, h_max, growth, grade_outer=(False, False)):
    """Mesh of layers with the given thicknesses (m), graded toward internal interfaces.

    h_min, h_max, growth: one value for all layers or one per layer.
    grade_outer: also grade toward the outer (left, right) ends, e.g. for a blocking electrode.
    Meshes of up to 20k cells are kept (read-only arrays): a sweep builds the same mesh for every
    case and every potential of a case.
    """
    K = len(thicknesses)
    h_min, h_max, growth = (np.broadcast_to(np.asarray(v, float), (K,)) for v in (h_min, h_max, growth))
    key = (tuple(float(t) for t in thicknesses), tuple(h_min.tolist()), tuple(h_max.tolist()),
           tuple(growth.tolist()), tuple(bool(b) for b in grade_outer))
    mesh = _MESHES.get(key)
    if mesh is None:
        mesh = _layered_mesh(thicknesses, h_min, h_max, growth, grade_outer)
        if mesh.n <= _CACHED_MAX_CELLS:
            for a in (mesh.faces, mesh.layer_of_cell, mesh.layer_faces):
                a.setflags(write=False)
            if len(_MESHES) >= _CACHED_MESHES:
                _MESHES.clear()
            _MESHES[key] = mesh
    return mesh


_MESHES = {}
_CACHED_MESHES = 64


def _layered_mesh(thicknesses, h_min, h_max, growth, grade_outer):
    K = len(thicknesses)
    cells = []
    layer_faces = [0]
    for k, L in enumerate(thicknesses):
        left_graded = k > 0 or grade_outer[0]
        right_graded = k < K - 1 or grade_outer[1]
        if left_graded and right_graded:
            half = graded_segment(L / 2, h_min[k], h_max[k], growth[k])
            sizes = np.concatenate([half, half[::-1]])
        elif left_graded:
            sizes = graded_segment(L, h_min[k], h_max[k], growth[k])
        elif right_graded:
            sizes = graded_segment(L, h_min[k], h_max[k], growth[k])[::-1]
        else:
            n = max(1, int(np.ceil(L / h_max[k])))
            sizes = np.full(n, L / n)
        cells.append(sizes)
        layer_faces.append(layer_faces[-1] + len(sizes))
    sizes = np.concatenate(cells)
    if len(sizes) > MAX_CELLS:
        raise MeshSizeError(f"mesh of {len(sizes)} cells refused (limit {MAX_CELLS}): raise h_min_m or h_max_m")
    faces = np.concatenate([[0.0], np.cumsum(sizes)])
    layer_of_cell = np.repeat(np.arange(K), [len(c) for c in cells])
    return Mesh(faces, layer_of_cell, np.array(layer_faces))


def double_layer_mesh(inner_width, fine_length, bulk_length, cells_per_fine_length=20.0, growth=1.02,
                      bulk_lengths=40.0, length=None):
    """Mesh of a one-sided (semi-infinite) double layer with its surface at x = 0.

    Uniform cells of fine_length / cells_per_fine_length over [0, inner_width + 20 fine_length]
    (a saturated layer of width inner_width and the edge that ends it, on the shortest
    screening length), then cells growing by `growth` up to bulk_length / 4, out to
    length = inner_width + bulk_lengths * bulk_length (or `length`), where the bulk holds.
    """
    h = fine_length / cells_per_fine_length
    inner = inner_width + 20.0 * fine_length
    L = length if length is not None else inner_width + bulk_lengths * max(bulk_length, fine_length)
    inner = min(inner, L)
    n_inner = max(1, int(np.ceil(inner / h)))
    sizes = [np.full(n_inner, inner / n_inner)]
    if L > inner:
        sizes.append(graded_segment(L - inner, inner / n_inner * growth, max(bulk_length / 4, h), growth))
    sizes = np.concatenate(sizes)
    if len(sizes) > MAX_CELLS:
        raise MeshSizeError(f"mesh of {len(sizes)} cells refused (limit {MAX_CELLS}): raise h_min_m or h_max_m")
    faces = np.concatenate([[0.0], np.cumsum(sizes)])
    return Mesh(faces, np.zeros(len(sizes), int), np.array([0, len(sizes)]))
