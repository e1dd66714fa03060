"""`make test-browser`: the widget panel driven in a real browser (JupyterLab + headless Chromium + Selenium).

Starts JupyterLab on localhost with a random token, opens a notebook that shows `config_panel()` for a toy model,
runs it, types a learning rate and a LoRA rank into the widgets, clicks Save config and checks the YAML on disk, then
clicks Train and waits for the live loss plot. Screenshots of the panel and of the plot go to `nbs/images/` and must
not be blank. Ends with `N passed, N failed` (one test per check).
"""
import json, os, re, secrets, shutil, socket, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT/"nbs"/"images"

NOTEBOOK_CELLS = [
    """from pathlib import Path
from text2sql_ft.config import FinetuneConfig
from text2sql_ft.panel import config_panel
from text2sql_ft.toy import toy_model, toy_tokenizer
tok = toy_tokenizer(); toy_dir = Path("toy"); toy_model(tok).save_pretrained(toy_dir); tok.save_pretrained(toy_dir)
panel = config_panel(FinetuneConfig(model_name=str(toy_dir.resolve()), output_name=str(Path("run").resolve()), train_limit=8,
                                    eval_limit=4, train_batch_size=4, max_steps=4, logging_steps=1, eval_steps=2,
                                    save_steps=4, report_to="none", learning_rate=2e-4, lora_r=16))""",
    "panel",
]

def _notebook(path:Path):
    cells = [dict(cell_type="code", id=f"c{i}", metadata={}, execution_count=None, outputs=[], source=src)
             for i, src in enumerate(NOTEBOOK_CELLS)]
    path.write_text(json.dumps(dict(cells=cells, metadata=dict(kernelspec=dict(name="python3", display_name="Python 3",
                    language="python")), nbformat=4, nbformat_minor=5)))

def _free_port()->int:
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def _not_blank(png:Path)->bool:
    "A screenshot with real content: many distinct colours, not one flat fill."
    from PIL import Image
    im = Image.open(png).convert("RGB")
    return len(im.resize((200, 200)).getcolors(200 * 200) or []) > 20

def main()->int:
    from selenium import webdriver
    from selenium.common.exceptions import ElementNotInteractableException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
    work = Path(tempfile.mkdtemp(prefix="browser-"))
    _notebook(work/"panel.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    lab = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
                            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}", "--ServerApp.open_browser=False", "--allow-root"],
                           stdout=open(work/"lab.log", "w"), stderr=subprocess.STDOUT)
    results = []
    def check(name, ok, detail=""):
        results.append(ok); print(f"{'PASS' if ok else 'FAIL'} {name}" + (f"  {detail}" if detail and not ok else ""), flush=True)
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1300,1100"): opts.add_argument(a)
    opts.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or ""
    driver = None
    try:
        for _ in range(60):  # the server is up
            try: socket.create_connection(("127.0.0.1", port), 1).close(); break
            except OSError: time.sleep(1)
        driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=shutil.which("chromedriver")))
        flaky = (StaleElementReferenceException, ElementNotInteractableException)  # JupyterLab re-renders what we hold
        wait = WebDriverWait(driver, 120, ignored_exceptions=flaky)
        def again(action, tries:int=20):
            "Run `action` (which finds its elements afresh) until no element it held went stale under it."
            for i in range(tries):
                try: return action()
                except flaky:
                    if i == tries - 1: raise
                    time.sleep(0.5)
        driver.get(f"http://127.0.0.1:{port}/lab/tree/panel.ipynb?token={token}")
        # ready = the first cell's editor can be clicked and the status bar says the kernel is idle (on a busy machine
        # the cells exist in the page well before the notebook is shown and its kernel has started)
        first_editor = (By.CSS_SELECTOR, ".jp-Notebook .jp-Cell .jp-InputArea-editor")
        wait.until(EC.element_to_be_clickable(first_editor))
        wait.until(lambda d: re.search(r"\|\s*Idle\b", d.find_element(By.CSS_SELECTOR, "#jp-main-statusbar").text))
        again(lambda: driver.find_element(*first_editor).click())
        for _ in NOTEBOOK_CELLS: driver.switch_to.active_element.send_keys(Keys.SHIFT, Keys.ENTER); time.sleep(1)
        wait.until(EC.presence_of_element_located((By.XPATH, "//button[contains(., 'Save config')]")))
        check("the panel renders with its tabs", bool(driver.find_elements(By.XPATH, "//*[contains(@class,'lm-TabBar-tab')][contains(., 'LoRA')]")))
        def type_into(tab:str, label:str, value:str):
            again(lambda: driver.find_element(By.XPATH, f"//*[contains(@class,'lm-TabBar-tab')][contains(., '{tab}')]").click()); time.sleep(0.5)
            def typed():
                box = driver.find_element(By.XPATH, f"//div[contains(@class,'widget-inline-hbox')][.//label[normalize-space()='{label}']]"
                                                    "//*[contains(@class,'widget-readout')]")
                box.click(); box.send_keys(Keys.CONTROL, "a"); box.send_keys(value, Keys.ENTER)
            again(typed); time.sleep(0.5)
        type_into("LoRA", "LoRA r", "8")
        type_into("optimisation", "learning rate", "1.0e-3")
        again(lambda: driver.find_element(By.XPATH, "//*[contains(@class,'lm-TabBar-tab')][contains(., 'LoRA')]").click()); time.sleep(0.5)
        for b in driver.find_elements(By.XPATH, "//*[contains(@class,'Toastify')]//button[normalize-space()='No']"): b.click()
        IMAGES.mkdir(parents=True, exist_ok=True)
        panel_png = IMAGES/"panel.png"
        again(lambda: driver.find_element(By.CSS_SELECTOR, ".jp-OutputArea-output .widget-vbox").screenshot(str(panel_png)))
        again(lambda: driver.find_element(By.XPATH, "//button[contains(., 'Save config')]").click())
        yaml_path = work/"run"/"config.yaml"
        for _ in range(30):
            if yaml_path.exists(): break
            time.sleep(0.5)
        import yaml
        saved = yaml.safe_load(yaml_path.read_text()) if yaml_path.exists() else {}
        check("Save config writes the typed values", saved.get("lora_r") == 8 and abs(saved.get("learning_rate", 0) - 1e-3) < 1e-9, str(saved)[:200])
        again(lambda: driver.find_element(By.XPATH, "//button[contains(., 'Train')]").click())
        img = WebDriverWait(driver, 300, ignored_exceptions=flaky).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".jp-OutputArea-output .widget-output img")))
        WebDriverWait(driver, 300, ignored_exceptions=flaky).until(lambda d: "adapter saved" in d.find_element(By.TAG_NAME, "body").text)
        loss_png = IMAGES/"panel_loss.png"
        again(lambda: driver.find_element(By.CSS_SELECTOR, ".jp-OutputArea-output .widget-output img").screenshot(str(loss_png)))
        check("Train draws the live loss plot and saves the adapter", (work/"run"/"adapter"/"adapter_config.json").exists())
        check("the screenshots are not blank", _not_blank(panel_png) and _not_blank(loss_png))
    except Exception as e:
        check("the browser session", False, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        if driver: driver.save_screenshot(str(work/"failure.png")); print("screenshot of the failure:", work/"failure.png")
    finally:
        if driver: driver.quit()
        lab.terminate()
        try: lab.wait(10)
        except subprocess.TimeoutExpired: lab.kill(); lab.wait()
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1

if __name__ == "__main__":
    sys.exit(main())
