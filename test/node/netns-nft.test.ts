// The node contract with iptables-nft, in network namespaces (the suite is in contract.ts).
import { nodeContract } from './contract.js';

await nodeContract('nft');
