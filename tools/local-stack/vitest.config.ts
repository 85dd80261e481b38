import { skymeshTestConfig } from '../../vitest.shared.js';

export default skymeshTestConfig();
