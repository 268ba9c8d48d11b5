// Command testdata writes real Go runtime/pprof profiles for Kiln's tests.
// It burns CPU in a few distinctly named functions (some under pprof labels,
// so samples carry sample labels), allocates memory, and contends a mutex and
// a channel so every profile kind has something in it. Stdlib only, so it
// builds offline.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"sync"
	"time"
)

// sink keeps results alive so the compiler cannot drop the work.
var sink uint64

// retained keeps allocations reachable so the heap profile has in-use data,
// not only alloc_* totals.
var retained [][]byte

//go:noinline
func hashLoop(deadline time.Time) {
	buf := make([]byte, 4096)
	for time.Now().Before(deadline) {
		for i := 0; i < 64; i++ {
			sum := sha256.Sum256(buf)
			buf[i] = sum[0]
			sink += uint64(sum[1])
		}
	}
}

//go:noinline
func sortWork(deadline time.Time) {
	r := rand.New(rand.NewSource(1))
	for time.Now().Before(deadline) {
		xs := make([]int, 20000)
		for i := range xs {
			xs[i] = r.Int()
		}
		sort.Ints(xs)
		sink += uint64(xs[0])
	}
}

//go:noinline
func compressWork(deadline time.Time) {
	src := bytes.Repeat([]byte("kiln profiles to metrics; "), 4000)
	for time.Now().Before(deadline) {
		var out bytes.Buffer
		w, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
		_, _ = w.Write(src)
		_ = w.Close()
		sink += uint64(out.Len())
	}
}

//go:noinline
func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

//go:noinline
func fibWork(deadline time.Time) {
	for time.Now().Before(deadline) {
		sink += uint64(fib(24))
	}
}

//go:noinline
func allocWork(n int) {
	for i := 0; i < n; i++ {
		b := make([]byte, 1024+(i%16)*512)
		if i%8 == 0 {
			retained = append(retained, b)
		}
	}
}

// contend makes goroutines fight over a mutex and an unbuffered channel so
// the mutex and block profiles are not empty.
func contend(d time.Duration) {
	var mu sync.Mutex
	ch := make(chan int)
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				mu.Lock()
				time.Sleep(200 * time.Microsecond)
				mu.Unlock()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for time.Now().Before(stop) {
			ch <- 1
		}
		close(ch)
	}()
	for range ch {
		time.Sleep(100 * time.Microsecond)
	}
	wg.Wait()
}

func writeProfile(dir, name string, write func(f *os.File) error) {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		fatal(err)
	}
	if err := write(f); err != nil {
		fatal(err)
	}
	if err := f.Close(); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "testdata:", err)
	os.Exit(1)
}

func main() {
	out := flag.String("out", ".", "directory to write the profiles into")
	dur := flag.Duration("duration", 1500*time.Millisecond, "how long to burn CPU while the CPU profile runs")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fatal(err)
	}

	runtime.MemProfileRate = 4096 // finer than the 512 KiB default, so small runs still record allocations
	runtime.SetMutexProfileFraction(1)
	runtime.SetBlockProfileRate(1)

	cpu, err := os.Create(filepath.Join(*out, "go-cpu.pb.gz"))
	if err != nil {
		fatal(err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		fatal(err)
	}

	// Split the budget: labelled and unlabelled work run concurrently, so both
	// kinds of samples show up.
	deadline := time.Now().Add(*dur)
	ctx := context.Background()
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	run(func() {
		pprof.Do(ctx, pprof.Labels("endpoint", "/api/a"), func(context.Context) { hashLoop(deadline) })
	})
	run(func() {
		pprof.Do(ctx, pprof.Labels("endpoint", "/api/b", "tier", "batch"), func(context.Context) { sortWork(deadline) })
	})
	run(func() { compressWork(deadline) })
	run(func() { fibWork(deadline) })
	run(func() { allocWork(20000) })
	run(func() { contend(*dur / 3) })
	wg.Wait()
	pprof.StopCPUProfile()
	if err := cpu.Close(); err != nil {
		fatal(err)
	}

	// A GC first makes inuse_* reflect the state after the run (WriteHeapProfile
	// reports as of the last completed GC).
	runtime.GC()
	writeProfile(*out, "go-heap.pb.gz", func(f *os.File) error { return pprof.WriteHeapProfile(f) })
	writeProfile(*out, "go-mutex.pb.gz", func(f *os.File) error { return pprof.Lookup("mutex").WriteTo(f, 0) })
	writeProfile(*out, "go-block.pb.gz", func(f *os.File) error { return pprof.Lookup("block").WriteTo(f, 0) })
	// Park a few goroutines (one labelled) so the goroutine profile has more
	// than main in it.
	park := make(chan struct{})
	for i := 0; i < 3; i++ {
		go func() { <-park }()
	}
	go pprof.Do(ctx, pprof.Labels("endpoint", "/api/idle"), func(context.Context) { <-park })
	time.Sleep(20 * time.Millisecond)
	writeProfile(*out, "go-goroutine.pb.gz", func(f *os.File) error { return pprof.Lookup("goroutine").WriteTo(f, 0) })
	close(park)
	runtime.KeepAlive(retained)
}
