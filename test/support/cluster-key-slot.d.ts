// Types for the Redis Cluster slot function ioredis itself uses (the package ships none).
declare module 'cluster-key-slot' {
  /** The Cluster slot (0-16383) of a key, honouring a `{hash tag}`. */
  export default function calculateSlot(key: string): number;
}
