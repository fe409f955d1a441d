//go:build !wasm

package session

// Property test sizes natively.
const (
	propertySeeds = 8
	propertySteps = 400
)
