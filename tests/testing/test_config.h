// A small configuration for service tests: one province, one district with
// two communes, a department, and procedures at each level, with the 2020
// Tết days off. Codes follow the sample's shape.
#ifndef ONESTOP_TESTS_TESTING_TEST_CONFIG_H_
#define ONESTOP_TESTS_TESTING_TEST_CONFIG_H_

namespace onestop::testing {

inline constexpr char kProvince[] = "000.00.00.H15";
inline constexpr char kDistrict[] = "000.00.31.H15";
inline constexpr char kCommune[] = "000.31.01.H15";
inline constexpr char kOtherCommune[] = "000.31.02.H15";
inline constexpr char kCommuneProcedure[] = "1.001193";   // 3 working days
inline constexpr char kDistrictProcedure[] = "2.000908";  // 5 working days

inline constexpr char kTestConfig[] = R"pb(
  name: "test province"
  levels { code: "province" name: "Cấp tỉnh" }
  levels { code: "district" name: "Cấp huyện" }
  levels { code: "commune" name: "Cấp xã" }
  agencies { code: "000.00.00.H15" name: "UBND tỉnh Đắk Lắk" level: "province" }
  agencies { code: "000.00.31.H15" name: "UBND huyện Lắk" level: "district" parent_code: "000.00.00.H15" }
  agencies { code: "000.31.01.H15" name: "UBND thị trấn Liên Sơn" level: "commune" parent_code: "000.00.31.H15" }
  agencies { code: "000.31.02.H15" name: "UBND xã Bông Krang" level: "commune" parent_code: "000.00.31.H15" }
  procedures {
    code: "1.001193" name: "Đăng ký khai sinh" level: "commune"
    deadline { amount: 3 unit: DEADLINE_UNIT_WORKING_DAYS } field: "Hộ tịch"
  }
  procedures {
    code: "2.000908" name: "Đăng ký thành lập hộ kinh doanh" level: "district"
    deadline { amount: 5 unit: DEADLINE_UNIT_WORKING_DAYS } fee_vnd: 100000 field: "Thành lập và hoạt động của hộ kinh doanh"
  }
  calendar {
    time_zone: "Asia/Ho_Chi_Minh"
    years {
      year: 2020
      holidays { date: "2020-01-01" name: "Tết Dương lịch" }
      holidays { date: "2020-01-23" name: "Tết Nguyên đán" }
      holidays { date: "2020-01-24" name: "Tết Nguyên đán" }
      holidays { date: "2020-01-27" name: "Tết Nguyên đán" }
      holidays { date: "2020-01-28" name: "Tết Nguyên đán" }
      holidays { date: "2020-01-29" name: "Tết Nguyên đán" }
    }
  }
)pb";

}  // namespace onestop::testing

#endif  // ONESTOP_TESTS_TESTING_TEST_CONFIG_H_
