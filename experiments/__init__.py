"""Sweeps of the partnership model: specs, engines, storage and export.

- :mod:`experiments.spec`: sweep specs (TOML) -> validated :class:`~experiments.spec.Spec`
  with its design (grid, or SALib's lhs, sobol, morris samplers) and hash.
- :mod:`experiments.engine`: runs, common random numbers, batches, and the
  serial and Dask engines behind one interface.
- :mod:`experiments.store`: the sweep folder (Parquet chunks, ``_manifest.json``),
  resume, and the loaders ``load_sweep`` and ``load_experiments_outcomes``.
- :mod:`experiments.sweep`: ``run_sweep(spec, out, workers=..., scheduler=..., resume=...)``.
- :mod:`experiments.export`: CSV and NetLogo BehaviorSpace tables.

Nothing is imported here, so ``import experiments.spec`` stays light.
"""
