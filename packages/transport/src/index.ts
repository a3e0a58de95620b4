export { type AllocatePortOptions, allocatePort } from "./allocate-port.js";
