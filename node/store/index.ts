/** The content-addressed store shared by the aggregator (writer) and auditors (readers). */
export { ContentStore, normaliseHash, StoreCorruptionError } from "./contentStore";
export { uploadRecordSchema, type UploadRecord } from "./uploadRecord";
export { writeFileDurably } from "./durableWrite";
