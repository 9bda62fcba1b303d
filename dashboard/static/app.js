// Copy buttons: the one convenience that needs JavaScript. Everything
// else on the dashboard works without it.
document.addEventListener('click', async (ev) => {
  const btn = ev.target.closest('button.copy');
  if (!btn) return;
  const el = document.getElementById(btn.dataset.copy);
  if (!el) return;
  try {
    await navigator.clipboard.writeText(el.textContent.trim());
    btn.textContent = 'Copied';
  } catch {
    const range = document.createRange();
    range.selectNodeContents(el);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    btn.textContent = 'Selected: press Ctrl+C';
  }
  setTimeout(() => { btn.textContent = 'Copy'; }, 2000);
});
