/* The course page's modules: drag a row by its handle to reorder them. The rows' positions are
   renumbered 1..n (archived rows aside) and saving the page moves the modules through the
   services, exactly as typing the numbers would. No library: the admin's own page, nothing else. */
"use strict";
window.addEventListener("load", function () {
    document.querySelectorAll(".lms-module-inline tbody").forEach(function (body) {
        let dragged = null;

        function liveRows() {
            return Array.from(body.querySelectorAll("tr.has_original")).filter(function (row) {
                const status = row.querySelector('select[name$="-status"]');
                return !status || status.value !== "archived";
            });
        }

        function renumber() {
            liveRows().forEach(function (row, index) {
                const position = row.querySelector('input[name$="-ordering"]');
                if (position) {
                    position.value = index + 1;
                }
            });
        }

        body.querySelectorAll("tr.has_original").forEach(function (row) {
            const cell = row.querySelector("td.field-ordering") || row.firstElementChild;
            const handle = document.createElement("span");
            handle.className = "lms-drag-handle";
            handle.textContent = "↕";
            handle.title = "Drag to move this module; then save.";
            cell.prepend(handle);
            // Only the handle starts a drag, so text in the row's inputs stays selectable.
            handle.addEventListener("mousedown", function () { row.draggable = true; });
            row.addEventListener("dragstart", function (event) {
                dragged = row;
                row.classList.add("lms-dragging");
                event.dataTransfer.effectAllowed = "move";
                event.dataTransfer.setData("text/plain", row.id);
            });
            row.addEventListener("dragend", function () {
                row.classList.remove("lms-dragging");
                row.draggable = false;
                dragged = null;
            });
            row.addEventListener("dragover", function (event) {
                if (dragged && dragged !== row) {
                    event.preventDefault();
                }
            });
            row.addEventListener("drop", function (event) {
                event.preventDefault();
                if (!dragged || dragged === row) {
                    return;
                }
                const box = row.getBoundingClientRect();
                const below = event.clientY > box.top + box.height / 2;
                row.parentNode.insertBefore(dragged, below ? row.nextSibling : row);
                renumber();
            });
        });
    });
});
