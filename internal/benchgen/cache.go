package benchgen

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// generatorVersion changes whenever the generator's output for a given workload
// and seed changes, so that cached captures from an older generator are rebuilt.
const generatorVersion = 1

// sidecar is the JSON file next to a cached capture that records what it holds.
type sidecar struct {
	Generator int      `json:"generator"`
	Workload  Workload `json:"workload"`
	Seed      uint64   `json:"seed"`
	FileSize  int64    `json:"file_size"`
	Summary   Summary  `json:"summary"`
}

// Generate writes the capture for wl and seed to path, unless path already holds
// it. A sidecar file, path + ".json", records the generator version, workload,
// seed, file size and summary; the capture is rebuilt when any of them differ
// from what is asked for or from the file on disk. The capture and the sidecar
// are each written to a temporary file and renamed into place, so a concurrent
// or interrupted run never leaves a partial capture behind a valid sidecar.
// Missing parent directories are created.
func Generate(path string, wl Workload, seed uint64) (Summary, error) {
	want := sidecar{Generator: generatorVersion, Workload: wl, Seed: seed}
	if sum, ok := cached(path, want); ok {
		return sum, nil
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Summary{}, fmt.Errorf("benchgen: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return Summary{}, fmt.Errorf("benchgen: %w", err)
	}
	defer os.Remove(f.Name()) // no-op once renamed
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return Summary{}, fmt.Errorf("benchgen: %w", err)
	}
	sum, err := Write(f, wl, seed)
	if err != nil {
		f.Close()
		return Summary{}, fmt.Errorf("benchgen: generate %s: %w", path, err)
	}
	info, err := f.Stat()
	if err == nil {
		err = f.Close()
	} else {
		f.Close()
	}
	if err != nil {
		return Summary{}, fmt.Errorf("benchgen: generate %s: %w", path, err)
	}
	// Drop the old sidecar before replacing the capture it describes.
	if err := os.Remove(path + ".json"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Summary{}, fmt.Errorf("benchgen: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return Summary{}, fmt.Errorf("benchgen: %w", err)
	}
	want.FileSize, want.Summary = info.Size(), sum
	if err := writeSidecar(path+".json", want); err != nil {
		return Summary{}, fmt.Errorf("benchgen: %w", err)
	}
	return sum, nil
}

// cached returns the summary of the capture at path if its sidecar matches want
// and the file has the recorded size.
func cached(path string, want sidecar) (Summary, bool) {
	b, err := os.ReadFile(path + ".json")
	if err != nil {
		return Summary{}, false
	}
	var got sidecar
	if err := json.Unmarshal(b, &got); err != nil {
		return Summary{}, false
	}
	if got.Generator != want.Generator || got.Workload != want.Workload || got.Seed != want.Seed {
		return Summary{}, false
	}
	info, err := os.Stat(path)
	if err != nil || !info.Mode().IsRegular() || info.Size() != got.FileSize {
		return Summary{}, false
	}
	return got.Summary, true
}

func writeSidecar(path string, s sidecar) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
