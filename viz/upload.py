"""The page's one way in for a visitor's file: drop it on a box, or click the box and choose it.

Solara's ``FileDrop`` takes drops only; a tablet or a facilitator who cannot drag
needs the usual file chooser too. This is the same widget (ipyvuetify's
``FileInput`` protocol: the browser announces name and size, the server asks for
the bytes chunk by chunk) with a hidden ``<input type=file>`` behind the box. The
server reads at most the upload limit plus one byte (``viz.files.read_upload``),
so an oversized file is refused from its announced size without being sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

import solara
import traitlets
from ipyvuetify.extra import FileInput

DROP_ZONE_VUE = """
<template>
  <div ref="dropzone" class="phc-scenario-drop" role="button" tabindex="0" data-testid="scenario-drop"
       @click="choose" @keydown.enter="choose" @keydown.space.prevent="choose">
    <input ref="picker" type="file" accept=".toml" style="display:none" data-testid="scenario-upload"
           @change="picked" @click.stop>
    <span v-if="file_info && file_info.length > 0">{{ file_info[0].name }}</span>
    <span v-else>{{ label }}</span>
  </div>
</template>

<script>
module.exports = {
  mounted() {
    this.chunk_size = 256 * 1024;
    this.native_file_info = [];
    this.$refs.dropzone.addEventListener('dragover', event => event.preventDefault());
    this.$refs.dropzone.addEventListener('drop', event => {
      event.preventDefault();
      /* one regular file: a dropped folder has an entry that is not a file */
      const items = [...(event.dataTransfer.items || [])];
      const entries = items.map(i => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
      const files = [...event.dataTransfer.files].filter((f, k) => !entries[k] || entries[k].isFile);
      this.take(files);
    });
  },
  methods: {
    choose() {
      this.$refs.picker.click();
    },
    picked(event) {
      this.take([...event.target.files]);
      event.target.value = '';  /* choosing the same file again is a new upload */
    },
    take(files) {
      if (!files.length) return;
      this.native_file_info = files.slice(0, 1);
      /* 'pick' makes every upload a change, even of the same file */
      this.file_info = this.native_file_info.map(({name, size}) => ({name, isFile: true, size, pick: Date.now()}));
    },
    jupyter_clear() {
      this.native_file_info = [];
      this.file_info = [];
    },
    jupyter_read(chunk) {
      const {id, file_index, offset, length} = chunk;
      let to_do = length;
      let sub_offset = offset;
      (async () => {
        while (to_do > 0) {
          const sub_length = Math.min(to_do, this.chunk_size);
          const file = this.native_file_info[file_index];
          const buff = await file.slice(sub_offset, sub_offset + sub_length).arrayBuffer();
          this.upload({id, file_index, offset: sub_offset, length: sub_length}, [buff]);
          to_do -= sub_length;
          sub_offset += sub_length;
        }
      })();
    }
  }
}
</script>

<style id="phc-scenario-drop">
.phc-scenario-drop {
  min-height: 64px;
  border: 1px dashed gray;
  border-radius: 4px;
  margin: 8px 0;
  padding: 8px;
  cursor: pointer;
  font-size: 14px;
  color: #444;
}
</style>
"""


class ScenarioDropZone(FileInput):
    """ipyvuetify's FileInput protocol behind a box that takes a drop or a click (one file)."""

    template = traitlets.Unicode(DROP_ZONE_VUE).tag(sync=True)
    label = traitlets.Unicode().tag(sync=True)
    multiple = traitlets.Bool(False).tag(sync=True)


@solara.component
def ScenarioUpload(label: str, on_file: Callable[[dict[str, Any]], None]):
    """A drop-or-choose box; ``on_file`` gets solara's FileInfo (name, size, file_obj), read lazily, in a thread."""
    file_info, set_file_info = solara.use_state(None)
    wired, set_wired = solara.use_state(cast(list | None, None))
    zone = ScenarioDropZone.element(label=label, on_file_info=set_file_info)

    def wire() -> None:
        if not file_info:
            return
        real = cast(ScenarioDropZone, solara.get_widget(zone))
        real.version += 1  # as solara's FileDrop does: a new version for this upload's chunk listeners
        real.reset_stats()
        set_wired(real.get_files())

    solara.use_effect(wire, [file_info])

    def handle(cancel: threading.Event) -> None:
        # in a thread: reading waits for the browser's chunks, which arrive through the kernel
        if wired:
            on_file(wired[0])

    result = solara.use_thread(handle, [wired])
    if result.error:
        raise result.error
    return zone
