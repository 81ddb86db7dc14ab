package live_test

// The page tested end to end in a real headless browser: Debian's
// chromium (the test command installs it), driven with chromedp. chromedp
// is imported by this test file only, so the library's import graph does
// not gain it.

import (
	"context"
	"flag"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/rightsize/rightsize/internal/testenv"
)

var screenshotPath = flag.String("screenshot", "", "also write the browser test's screenshot to this `file` (the README's is ../../docs/live-page.png)")

// chromium returns the browser's path; missing, it skips the test, or
// under CI=true fails it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium is not installed (apt-get install chromium; ./scripts/test.sh installs it)"
	if testenv.CI() {
		t.Fatal(msg + "; under CI this is a failure")
	}
	t.Skip(msg)
	return ""
}

// browser starts a headless chromium with a fresh profile, closed when
// the test ends, and counts the JavaScript dialogs pages open (a page
// that ran a service name as HTML would call alert).
func browser(t *testing.T) (context.Context, *atomic.Int32) {
	t.Helper()
	path := chromium(t)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1360, 900),
	)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start %s: %v", path, err)
	}
	var dialogs atomic.Int32
	if err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			dialogs.Add(1)
			go chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
				_, err := cdp.Call(ctx, t, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
				return err
			}))
		}
	}); err != nil {
		t.Fatal(err)
	}
	return ctx, &dialogs
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// waitJS waits until the expression is truthy in the page.
func waitJS(t *testing.T, ctx context.Context, d time.Duration, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(d))); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("waiting %v for %s: %v\npage text:\n%s", d, what, err, body)
	}
}

func TestBrowser(t *testing.T) {
	ctx, dialogs := browser(t)
	r := newRig(t)

	// No data yet: the page says so.
	if err := chromedp.Do(ctx, chromedp.Navigate(r.url)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, 10*time.Second, "the empty state", `document.body.dataset.state === "empty"`)
	if text := eval[string](t, ctx, `document.getElementById("empty").innerText`); !strings.HasPrefix(text, "No data yet") {
		t.Errorf("empty page says %q", text)
	}

	// Samples arrive: the services published appear, with what the store
	// says they are expected to use and should request.
	services := []string{"resize", "thumbnail", "decode", "encode", "blur"}
	r.publish(t, services, 120, wave)
	waitJS(t, ctx, 20*time.Second, "five services listed", `document.querySelectorAll("#rows tr[data-service]").length === 5`)
	names := eval[[]string](t, ctx, `[...document.querySelectorAll("#rows tr[data-service]")].map(tr => tr.querySelector("td.name").innerText)`)
	if strings.Join(names, ",") != "blur,decode,encode,resize,thumbnail" {
		t.Errorf("services listed: %v", names)
	}
	resizeRow := `document.querySelector('#rows tr[data-service="resize"]')`
	waitJS(t, ctx, 20*time.Second, "expected usage and a recommendation for resize",
		`/expected \d/.test(`+resizeRow+`.innerText) && /request \d/.test(`+resizeRow+`.innerText)`)

	// It updates as new samples arrive.
	points := func() int {
		return eval[int](t, ctx, resizeRow+`.querySelector("polyline").getAttribute("points").split(" ").length`)
	}
	before := points()
	r.publish(t, []string{"resize"}, 3, func(string, int) float64 { return 0.9 })
	waitJS(t, ctx, 10*time.Second, "resize's new samples", resizeRow+`.querySelector(".now").innerText === "900 millicores"`)
	if after := points(); after <= before && before < 60 {
		t.Errorf("the recent line did not grow: %d points, then %d", before, after)
	}

	// A service's charts, drawn by the server, update in place.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#rows tr[data-service="resize"] td.name button`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, 20*time.Second, "resize's charts", `(() => { const imgs = [...document.querySelectorAll("#detail-charts img")];
		return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth > 0 && !i.hidden); })()`)
	if got := eval[string](t, ctx, `document.getElementById("detail-name").innerText`); got != "resize" {
		t.Errorf("detail of %q", got)
	}
	// The list and the detail agree once one poll has passed since the
	// store was last read (a person would see them differ for 2 s).
	chromedp.Run(ctx, chromedp.Poll[chromedp.Void](`(() => { const rec = document.querySelector("#detail-rows tr td:nth-child(4)");
		return rec && `+resizeRow+`.innerText.includes(rec.innerText); })()`, chromedp.WithPollingTimeout(5*time.Second)))
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(t.TempDir(), "live-page.png")
	if *screenshotPath != "" {
		saved = *screenshotPath
	}
	if err := os.WriteFile(saved, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d KiB)", saved, len(shot)>>10)

	// A name with HTML in it is shown as written, and runs nothing.
	r.publish(t, []string{xssName}, 5, wave)
	waitJS(t, ctx, 20*time.Second, "the HTML-named service", `document.querySelectorAll("#rows tr[data-service]").length === 6`)
	first := eval[string](t, ctx, `document.querySelector("#rows tr[data-service] td.name").innerText`)
	if first != xssName {
		t.Errorf("first service shown as %q, want %q", first, xssName)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('img[src="x"]').length`); n != 0 || dialogs.Load() != 0 {
		t.Errorf("the name ran as HTML: %d img elements, %d dialogs", n, dialogs.Load())
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#rows tr[data-service] td.name button`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, 10*time.Second, "its detail", `document.getElementById("detail-name").innerText === `+jsString(xssName))
	if n := eval[int](t, ctx, `document.querySelectorAll('img[src="x"]').length`); n != 0 || dialogs.Load() != 0 {
		t.Errorf("the name ran as HTML in the detail: %d img elements, %d dialogs", n, dialogs.Load())
	}

	// 200 services more: the page lists them 25 at a time and stays
	// quick.
	r.srv.Write(context.Background(), manyServices(200, 120))
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(r.url)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, 20*time.Second, "206 services, 25 on a page",
		`document.getElementById("count").innerText === "206 services" && document.querySelectorAll("#rows tr[data-service]").length === 25`)
	load := time.Since(start)
	start = time.Now()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#next"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, 10*time.Second, "page 2", `document.getElementById("pageinfo").innerText === "page 2 of 9"`)
	next := time.Since(start)
	start = time.Now()
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#filter"), "service-19")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, 10*time.Second, "the filter", `document.getElementById("count").innerText === "10 of 206 services"`)
	filter := time.Since(start)
	m := eval[map[string]float64](t, ctx, `window.rightsizeLive`)
	t.Logf("206 services: page shown %v after navigating, next page %v after the click, filter %v after typing (200 ms debounce); "+
		"largest redraw %.1f ms, last fetch %.1f ms, %v redraws", load.Round(time.Millisecond), next.Round(time.Millisecond),
		filter.Round(time.Millisecond), m["maxRenderMs"], m["lastFetchMs"], m["renders"])
	if m["maxRenderMs"] > 250 || next > 3*time.Second {
		t.Errorf("the page is slow with 206 services: redraw %.0f ms, next page %v", m["maxRenderMs"], next)
	}
}

// wave is a plausible CPU curve per service: a base, a slow wave and
// some jitter.
func wave(svc string, i int) float64 {
	base := map[string]float64{"resize": 0.5, "thumbnail": 0.25, "decode": 0.35, "encode": 0.8, "blur": 1.2}[svc]
	if base == 0 {
		base = 0.1
	}
	return base * (1 + 0.15*math.Sin(float64(i)/9) + 0.05*math.Sin(float64(i)*1.7))
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
