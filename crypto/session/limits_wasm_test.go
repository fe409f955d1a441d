//go:build wasm

package session

// Property test sizes under WebAssembly, which runs several times slower.
const (
	propertySeeds = 3
	propertySteps = 200
)
