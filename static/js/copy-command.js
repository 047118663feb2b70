// A Copy button after every command of the connect card. The page works
// without it (each command is a <pre> to select); the button's label and
// the announced results come from the card's data-copy-* attributes,
// translated by the template, and are said in one aria-live region.
(function () {
  "use strict";
  var card = document.querySelector("[data-copy-commands]");
  if (!card) { return; }
  var result = document.getElementById(card.getAttribute("data-copy-status"));
  var say = function (text) {
    // Emptied first, so that a second copy is announced again.
    result.textContent = "";
    window.setTimeout(function () { result.textContent = text; }, 50);
  };
  var byHand = function (block) {
    // Older browsers, or no secure context: select the block and copy.
    var range = document.createRange();
    range.selectNodeContents(block);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  };
  var blocks = card.querySelectorAll("pre[data-copy]");
  Array.prototype.forEach.call(blocks, function (block, index) {
    if (!block.id) { block.id = "connect-command-" + index; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-outline-primary btn-sm mb-2 copy-command";
    button.textContent = card.getAttribute("data-copy-label");
    // Which command it copies, for screen readers.
    button.setAttribute("aria-describedby", block.id);
    block.insertAdjacentElement("afterend", button);
    var done = function () { say(card.getAttribute("data-copy-done")); };
    var failed = function () { say(card.getAttribute("data-copy-failed")); };
    button.addEventListener("click", function () {
      var text = block.textContent;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () {
          if (byHand(block)) { done(); } else { failed(); }
        });
      } else if (byHand(block)) {
        done();
      } else {
        failed();
      }
    });
  });
})();
