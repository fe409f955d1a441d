package interop

// interopSeeds is how many random schedules TestInteropRandomSchedules runs.
const interopSeeds = 8
