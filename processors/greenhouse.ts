// Greenhouse sensors report Fahrenheit and a raw humidity ratio; store Celsius and percent.
import { formatISO } from 'date-fns';

interface Message {
  measurement: string;
  sensor: string;
  ts?: string | number;
  data: Record<string, unknown>;
}

export default function process(message: Message): Message | null {
  const { temperature_f, humidity } = message.data;
  if (typeof temperature_f !== 'number' || typeof humidity !== 'number') return null; // not a climate reading
  return {
    measurement: 'room_climate',
    sensor: message.sensor,
    ts: message.ts ?? formatISO(new Date()),
    data: {
      temperature: Math.round(((temperature_f - 32) * 5) / 9 * 100) / 100,
      humidity: humidity <= 1 ? humidity * 100 : humidity,
      label: `greenhouse/${message.sensor}`,
    },
  };
}
